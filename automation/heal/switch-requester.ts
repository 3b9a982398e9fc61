import { Colour } from "../../config/schema";
import { OperatorError } from "../cli/errors";
import { SwitchOutcome } from "../switch/ports";
import { SwitchRunner, runAutoHealSwitch } from "../switch/request-worker";

/**
 * What the healer needs from the switch side: "switch this team to that colour, for this
 * reason, and tell me how it ended". The real implementation is the switch orchestrator
 * (its lease, budget, backup and policy gates apply); the healer never moves traffic itself.
 */
export interface SwitchRequester {
  switchTo(team: string, to: Colour, reason: string): Promise<{ outcome: SwitchOutcome; reason?: string }>;
}

/** A switch the orchestrator did not complete (refused by a gate, rolled back, failed). */
export class SwitchNotCompleted extends OperatorError {
  constructor(
    readonly team: string,
    readonly to: Colour,
    readonly outcome: Exclude<SwitchOutcome, "completed">,
    detail: string,
  ) {
    super(`auto-heal switch of '${team}' to ${to} ${outcome.replace("_", " ")}: ${detail}; the healer escalates and stops acting on '${team}' until 'jenkins-ha heal resume'`);
  }
}

/**
 * The healer stopped waiting for a switch it asked for because it is shutting down: the
 * switch stays with whoever runs it, and this is not a failed switch (no escalation).
 */
export class SwitchWaitAbandoned extends OperatorError {}

/** Reasons always start with "auto-heal" so the audit and the journal tell them apart. */
export function autoHealReason(reason: string): string {
  return reason.startsWith("auto-heal") ? reason : `auto-heal: ${reason}`;
}

/**
 * The healer's `switchTo` port over a SwitchRequester: resolves only when the switch
 * completed; anything else throws, and the healer escalates.
 */
export function switchPort(requester: SwitchRequester): (team: string, to: Colour, reason: string) => Promise<void> {
  return async (team, to, reason) => {
    const result = await requester.switchTo(team, to, autoHealReason(reason));
    if (result.outcome !== "completed") throw new SwitchNotCompleted(team, to, result.outcome, result.reason ?? "no reason given");
  };
}

/**
 * Adapter from the real SwitchOrchestrator to SwitchRequester, mode `auto-heal` (so the
 * budget applies, as for a manual safe switch); a refusal the orchestrator throws (budget,
 * lease, policy, unhealthy target) becomes outcome `refused` with its message.
 */
export class OrchestratorSwitchRequester implements SwitchRequester {
  constructor(
    private readonly orchestrator: SwitchRunner,
    private readonly actor: string,
  ) {}

  async switchTo(team: string, to: Colour, reason: string): Promise<{ outcome: SwitchOutcome; reason?: string }> {
    const { outcome, reason: why } = await runAutoHealSwitch(this.orchestrator, { team, to, reason: autoHealReason(reason), actor: this.actor });
    return { outcome, reason: why };
  }
}

/**
 * Used by `heal run --switch escalate` / `healing.switchVia: escalate` (and without a coordination database): every switch
 * is refused with a message saying so, which makes the healer escalate instead of
 * switching. Restarts and escalations work in full.
 */
export class UnwiredSwitchRequester implements SwitchRequester {
  async switchTo(team: string, to: Colour): Promise<{ outcome: SwitchOutcome; reason: string }> {
    return {
      outcome: "refused",
      reason: `this healer does not switch (healing.switchVia or heal run --switch is 'escalate', or no coordination database); switch '${team}' to ${to} by hand with 'jenkins-ha switch --team ${team} --to ${to}' after checking the evidence`,
    };
  }
}
