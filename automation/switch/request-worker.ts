import { setTimeout as wait } from "timers/promises";
import { OperatorError } from "../cli/errors";
import { FinalRequestStatus, SwitchRequestQueue, SwitchRequestRow } from "../coordination/switch-requests";
import { SwitchReport, SwitchRequest } from "./orchestrator";
import { Progress, SwitchOutcome } from "./ports";

/** The part of SwitchOrchestrator the worker (and the in-process healer) drives. */
export interface SwitchRunner {
  switch(request: SwitchRequest): Promise<SwitchReport>;
}

/**
 * One auto-heal switch through the orchestrator, its end as an outcome: the orchestrator
 * rolls back before it throws, so a gate refusal (lease, budget, policy, unhealthy target)
 * — an OperatorError — is `refused`, anything else `failed`. Shared by the queue's worker
 * and `heal run --switch orchestrator`, so both judge a switch the same way.
 */
export async function runAutoHealSwitch(orchestrator: SwitchRunner, request: { team: string; to: SwitchRequestRow["to"]; reason: string; actor: string }): Promise<{ outcome: SwitchOutcome; reason?: string; switchId?: string }> {
  try {
    const report = await orchestrator.switch({ ...request, mode: "auto-heal" });
    // A dry run is never asked for here; if it came back, nothing was switched.
    return { outcome: report.outcome === "dry-run" ? "refused" : report.outcome, reason: report.reason, switchId: report.id };
  } catch (err) {
    return { outcome: err instanceof OperatorError ? "refused" : "failed", reason: err instanceof Error ? err.message : String(err) };
  }
}

export interface ServedRequest {
  id: number;
  team: string;
  to: SwitchRequestRow["to"];
  status: Exclude<FinalRequestStatus, "expired">;
  reason?: string;
  switchId?: string;
  /** False when the request had been ended by someone else (reaped as stale, voided) meanwhile. */
  recorded: boolean;
}

export interface ServeOptions {
  queue: SwitchRequestQueue;
  stack: string;
  /** Who serves (lease holder and `claimed_by`), e.g. `jenkins:<BUILD_TAG>`. */
  worker: string;
  /** Teams of the stack's model: a request for any other team is refused. */
  knownTeams: readonly string[];
  /**
   * Builds the orchestrator at the first request, not at start: most runs find the queue
   * empty, and the Automation API workspace is only needed for a switch.
   */
  runner: () => Promise<SwitchRunner>;
  progress: Progress;
  /** Stops claiming; the switch in progress is stopped by the runner's own signal and rolls back. */
  signal?: AbortSignal;
  /** Return once the queue has nothing to claim (the scheduled Jenkins job), instead of polling. */
  once?: boolean;
  maxRequests?: number;
  pollMs?: number;
  heartbeatMs?: number;
}

/**
 * Serves the healer's switch requests: claim the oldest pending one of the stack, run it
 * through the switch orchestrator with mode `auto-heal` (its lease, budget, backup and
 * policy gates apply), heartbeat while it runs, record the outcome. One at a time per
 * worker; several workers (one per ops agent or Jenkins build) never claim the same one.
 */
export async function serveSwitchRequests(o: ServeOptions): Promise<ServedRequest[]> {
  const served: ServedRequest[] = [];
  let runner: SwitchRunner | undefined;
  while (!o.signal?.aborted && (o.maxRequests === undefined || served.length < o.maxRequests)) {
    const request = await o.queue.claimNext(o.stack, o.worker);
    if (!request) {
      if (o.once) break;
      await wait(o.pollMs ?? 5000, undefined, { signal: o.signal }).catch(() => undefined); // aborted: the loop ends
      continue;
    }
    o.progress({ team: request.team, step: "request", message: `claimed switch request ${request.id}: to ${request.to} for ${request.requestedBy} (${request.reason})` });
    const heartbeat = setInterval(() => {
      o.queue.heartbeat(request.id, o.worker).then(
        (mine) => mine || o.progress({ team: request.team, step: "request", message: `switch request ${request.id} was ended by someone else (reaped as stale or voided); the switch goes on, its outcome is in the audit` }),
        () => undefined, // the database may blink; a long silence makes the healer reap the request, which is the safe side
      );
    }, o.heartbeatMs ?? 10_000);
    let result: { status: ServedRequest["status"]; reason?: string; switchId?: string };
    try {
      result = await runOne(request, o, async () => (runner ??= await o.runner()));
    } finally {
      clearInterval(heartbeat);
    }
    const recorded = await o.queue.finish(request.id, o.worker, result.status, result.reason, result.switchId);
    o.progress({ team: request.team, step: "request", message: `switch request ${request.id}: ${result.status}${result.reason ? ` (${result.reason})` : ""}${recorded ? "" : " — not recorded: the request had been ended meanwhile"}` });
    served.push({ id: request.id, team: request.team, to: request.to, ...result, recorded });
  }
  return served;
}

async function runOne(request: SwitchRequestRow, o: ServeOptions, runner: () => Promise<SwitchRunner>): Promise<{ status: ServedRequest["status"]; reason?: string; switchId?: string }> {
  if (!o.knownTeams.includes(request.team)) {
    return { status: "refused", reason: `team '${request.team}' is not in stack '${o.stack}' as this worker reads it; teams: ${o.knownTeams.join(", ")}` };
  }
  let orchestrator: SwitchRunner;
  try {
    orchestrator = await runner();
  } catch (err) {
    return { status: "refused", reason: `this worker cannot start the switch orchestrator: ${err instanceof Error ? err.message : String(err)}` };
  }
  const { outcome, ...rest } = await runAutoHealSwitch(orchestrator, { team: request.team, to: request.to, reason: request.reason, actor: `${request.requestedBy} via ${o.worker}` });
  return { status: outcome, ...rest };
}
