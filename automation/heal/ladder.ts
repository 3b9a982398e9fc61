import { HealAction, TeamHealingConfig } from "../../config/sections/healing";

/** What the healer remembers about one team between checks. */
export interface LadderState {
  consecutiveFailures: number;
  /** Index into the policy's actions of the next rung. */
  rung: number;
  /** When the last action was taken: the ladder waits `recoveryWaitSeconds` before the next. */
  lastActionAt?: number;
  /** Times of actions, for the "escalate after N actions" budget. */
  actionTimes: number[];
  /** Set by an escalation (or a failed switch); only `heal resume` clears it. */
  needsHuman: boolean;
}

export const INITIAL_LADDER_STATE: LadderState = { consecutiveFailures: 0, rung: 0, actionTimes: [], needsHuman: false };

export type EffectiveMode = "off" | "monitor" | "on";

export interface LadderInput {
  healthy: boolean;
  now: number;
  policy: TeamHealingConfig;
  mode: EffectiveMode;
  /** Paused by on-call (`heal pause`). */
  paused: boolean;
}

export interface LadderDecision {
  action: HealAction | "none";
  /** True when the decision is only recorded (monitor mode). */
  dryRun: boolean;
  reason: string;
  state: LadderState;
}

/**
 * The healing ladder, as a pure function of the last state and this check's verdict:
 * after `failureThreshold` consecutive failures take the next rung (restart, then switch,
 * then escalate), wait `recoveryWaitSeconds` after each action, escalate when the action
 * budget is spent, and stop acting once a human is needed.
 */
export function decide(state: LadderState, input: LadderInput): LadderDecision {
  const { policy, now } = input;
  const none = (reason: string, next: LadderState): LadderDecision => ({ action: "none", dryRun: input.mode !== "on", reason, state: next });

  if (input.mode === "off") return none("healing is off for this team", { ...state, consecutiveFailures: 0 });
  if (input.healthy) {
    const recovered = state.consecutiveFailures > 0 || state.rung > 0;
    return none(recovered ? "healthy again: ladder reset" : "healthy", { ...state, consecutiveFailures: 0, rung: 0, lastActionAt: undefined });
  }

  const failures = state.consecutiveFailures + 1;
  const next: LadderState = { ...state, consecutiveFailures: failures };
  if (state.needsHuman) return none("waiting for a human (escalated); run 'jenkins-ha heal resume' when fixed", next);
  if (input.paused) return none("paused by on-call", next);
  if (failures < policy.failureThreshold) {
    return none(`failure ${failures} of ${policy.failureThreshold}: not acting on a transient failure`, next);
  }
  if (state.lastActionAt !== undefined && now - state.lastActionAt < policy.recoveryWaitSeconds * 1000) {
    return none(`waiting ${policy.recoveryWaitSeconds} s for the last action to take effect`, next);
  }

  const windowStart = now - policy.actionWindowMinutes * 60_000;
  const recentActions = state.actionTimes.filter((t) => t >= windowStart);
  let action: HealAction = policy.actions[Math.min(state.rung, policy.actions.length - 1)];
  let reason = `${failures} consecutive failures (threshold ${policy.failureThreshold}): rung ${state.rung + 1} of ${policy.actions.length}`;
  if (state.rung >= policy.actions.length) {
    action = "escalate_human";
    reason = `${failures} consecutive failures and every rung tried`;
  } else if (action !== "escalate_human" && recentActions.length >= policy.maxActions) {
    action = "escalate_human";
    reason = `${recentActions.length} actions in ${policy.actionWindowMinutes} min (budget ${policy.maxActions}): escalating instead of ${policy.actions[state.rung]}`;
  }
  return {
    action,
    dryRun: input.mode !== "on",
    reason,
    state: {
      ...next,
      rung: state.rung + 1,
      lastActionAt: now,
      actionTimes: [...recentActions, now],
      needsHuman: action === "escalate_human",
      // A fresh count after acting: the next rung needs the threshold again after the wait.
      consecutiveFailures: 0,
    },
  };
}

/**
 * State after the healer escalated outside the ladder (a switch was refused or failed):
 * no further action on this team until a human resumes it.
 */
export function escalated(state: LadderState, now: number): LadderState {
  return { ...state, needsHuman: true, lastActionAt: now, actionTimes: [...state.actionTimes, now] };
}

/** `heal resume`: a human has looked; start the ladder from the bottom again. */
export function resumed(): LadderState {
  return { ...INITIAL_LADDER_STATE, actionTimes: [] };
}
