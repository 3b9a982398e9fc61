import { setTimeout as wait } from "timers/promises";
import { Colour } from "../../config/schema";
import { SwitchRequestQueue, SwitchRequestRow } from "../coordination/switch-requests";
import { SwitchOutcome } from "../switch/ports";
import { HealLog } from "./logger";
import { SwitchRequester, SwitchWaitAbandoned } from "./switch-requester";

/** The job that serves switch requests (jenkins/base/auto-heal-switch.Jenkinsfile). */
export const SWITCH_WORKER_JOB = "Infrastructure/Auto-Heal-Switch";

export interface QueuedSwitchOptions {
  queue: SwitchRequestQueue;
  stack: string;
  requestedBy: string;
  /** A request no worker claimed within this is voided, and the healer escalates. */
  claimWithinSeconds: number;
  /** A running request whose worker has not reported for this long is failed. */
  staleAfterSeconds: number;
  log: HealLog;
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * Rung 2 as the deployed healer does it: it asks for the switch in the coordination
 * database and waits for the outcome. A switch worker with the Pulumi workspace (the
 * `Infrastructure/Auto-Heal-Switch` job on an ops agent, `jenkins-ha switch-requests serve`)
 * claims the request and runs the switch orchestrator — the same lease, budget, backup
 * and policy gates as any switch. The healer itself needs no Pulumi CLI, passphrase or
 * second copy of the stack config, and two workspaces never hold diverging stack files.
 */
export class QueuedSwitchRequester implements SwitchRequester {
  constructor(private readonly o: QueuedSwitchOptions) {}

  async switchTo(team: string, to: Colour, reason: string): Promise<{ outcome: SwitchOutcome; reason?: string }> {
    const { o } = this;
    const request = await o.queue.submit({ stack: o.stack, team, to, reason, requestedBy: o.requestedBy, claimWithinSeconds: o.claimWithinSeconds });
    o.log({ level: "warn", msg: "switch requested; waiting for a switch worker", team, to, request: request.id, claimDeadline: request.claimDeadline.toISOString(), worker: SWITCH_WORKER_JOB });
    const ended = await this.waitFor(request);
    o.log({ level: ended.status === "completed" ? "info" : "error", msg: `switch request ${ended.status}`, team, to, request: ended.id, claimedBy: ended.claimedBy, reason: ended.outcomeReason, switchId: ended.switchId });
    return { outcome: outcomeOf(ended), reason: explain(ended) };
  }

  private async waitFor(request: SwitchRequestRow): Promise<SwitchRequestRow> {
    const { o } = this;
    let current = request;
    let lastClaimedBy: string | null = null;
    for (;;) {
      if (o.signal?.aborted) throw new SwitchWaitAbandoned(`healer stopping: switch request ${request.id} for '${request.team}' is left to its worker`);
      if (current.status !== "pending" && current.status !== "running") return current;
      if (current.claimedBy && current.claimedBy !== lastClaimedBy) {
        lastClaimedBy = current.claimedBy;
        o.log({ level: "info", msg: "switch request claimed", team: request.team, request: request.id, claimedBy: current.claimedBy });
      }
      await wait(o.pollMs ?? 2000, undefined, { signal: o.signal }).catch(() => undefined); // aborted: checked at the loop's top
      try {
        current = (await o.queue.reap(request.id, o.staleAfterSeconds)) ?? current;
      } catch (err) {
        // The database blinked: keep waiting; the worker cannot finish without it either.
        o.log({ level: "warn", msg: "cannot read the switch request; retrying", team: request.team, request: request.id, error: String(err) });
      }
    }
  }
}

function outcomeOf(r: SwitchRequestRow): SwitchOutcome {
  switch (r.status) {
    case "completed":
    case "rolled_back":
    case "refused":
    case "failed":
      return r.status;
    default:
      return "refused"; // expired: nothing was started
  }
}

function explain(r: SwitchRequestRow): string {
  const why = r.outcomeReason ?? "no reason recorded";
  if (r.status === "expired") return `${why}: is the ${SWITCH_WORKER_JOB} job (jenkins-ha switch-requests serve) running on an ops agent? (request ${r.id})`;
  return `${why} (request ${r.id}${r.claimedBy ? `, run by ${r.claimedBy}` : ""})`;
}
