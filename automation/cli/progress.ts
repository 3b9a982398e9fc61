import { Progress, ProgressEvent } from "../switch/ports";

/** One line per step for people; one JSON object per line (`--json`) for Jenkins consoles. */
export function progressPrinter(json: boolean, out: NodeJS.WritableStream = process.stdout): Progress {
  return (event: ProgressEvent) => {
    if (json) {
      out.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
      return;
    }
    if (event.message === "") return;
    const sli = event.sli
      ? ` [err ${(event.sli.errorRate * 100).toFixed(2)} % · p95 ${Math.round(event.sli.p95Ms)} ms · avail ${(event.sli.availability * 100).toFixed(2)} % · n=${event.sli.requests}]`
      : "";
    out.write(`${new Date().toISOString().slice(11, 19)} ${event.team} ${event.step.padEnd(8)} ${event.message}${sli}\n`);
  };
}

/**
 * SIGINT/SIGTERM abort the running operation (which then rolls back) instead of killing
 * the process mid-way; a second signal exits at once.
 */
export function abortOnSignals(progress: Progress, team: string): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    progress({ team, step: "signal", message: `${sig} received: stopping and rolling back (send again to exit at once)` });
    controller.abort(sig);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}
