import { BudgetProof } from "../switch/ports";

export interface BudgetLimits {
  maxSwitchesPerHour: number;
  maxSwitchesPerDay: number;
  cooldownMinutes: number;
  /** Failure breaker: this many failed switches within `breakerWindowMinutes` open it... */
  breakerFailures: number;
  breakerWindowMinutes: number;
  /** ...for this long after the last failure. */
  breakerOpenMinutes: number;
}

export const DEFAULT_BREAKER = { breakerFailures: 3, breakerWindowMinutes: 10, breakerOpenMinutes: 30 };

/** The budget limits of a stack's `jenkins-ha:switch` config. */
export function budgetLimitsFrom(config: BudgetLimits): BudgetLimits {
  const { maxSwitchesPerHour, maxSwitchesPerDay, cooldownMinutes, breakerFailures, breakerWindowMinutes, breakerOpenMinutes } = config;
  return { maxSwitchesPerHour, maxSwitchesPerDay, cooldownMinutes, breakerFailures, breakerWindowMinutes, breakerOpenMinutes };
}

export interface SwitchHistory {
  /** Start times of completed switches (not rollbacks). */
  completed: Date[];
  /** Times of failed / rolled-back switches. */
  failed: Date[];
}

const MIN = 60_000;

/**
 * The switch budget as a pure function of the audit history: a rate budget (per hour, per
 * day), a cooldown after the last switch, and a failure breaker. A refusal says why and
 * when the next switch will be allowed.
 */
export function budgetVerdict(history: SwitchHistory, limits: BudgetLimits, now: Date): BudgetProof {
  const t = now.getTime();
  const lastHour = history.completed.filter((d) => t - d.getTime() < 60 * MIN).sort((a, b) => a.getTime() - b.getTime());
  const lastDay = history.completed.filter((d) => t - d.getTime() < 24 * 60 * MIN).sort((a, b) => a.getTime() - b.getTime());
  const last = history.completed.reduce<Date | undefined>((m, d) => (!m || d > m ? d : m), undefined);
  const reasons: string[] = [];
  let allowedAt = 0;
  if (lastHour.length >= limits.maxSwitchesPerHour) {
    reasons.push(`${lastHour.length} switches in the last hour (max ${limits.maxSwitchesPerHour})`);
    allowedAt = Math.max(allowedAt, lastHour[lastHour.length - limits.maxSwitchesPerHour].getTime() + 60 * MIN);
  }
  if (lastDay.length >= limits.maxSwitchesPerDay) {
    reasons.push(`${lastDay.length} switches in the last day (max ${limits.maxSwitchesPerDay})`);
    allowedAt = Math.max(allowedAt, lastDay[lastDay.length - limits.maxSwitchesPerDay].getTime() + 24 * 60 * MIN);
  }
  if (last && t - last.getTime() < limits.cooldownMinutes * MIN) {
    reasons.push(`cooldown of ${limits.cooldownMinutes} min after the switch at ${last.toISOString()}`);
    allowedAt = Math.max(allowedAt, last.getTime() + limits.cooldownMinutes * MIN);
  }
  // The breaker opened at the last failure if it was the Nth within the window; it stays
  // open for breakerOpenMinutes from then.
  const lastFailure = history.failed.filter((d) => d.getTime() <= t).reduce<Date | undefined>((m, d) => (!m || d > m ? d : m), undefined);
  const recentFailures = lastFailure
    ? history.failed.filter((d) => d.getTime() <= lastFailure.getTime() && lastFailure.getTime() - d.getTime() < limits.breakerWindowMinutes * MIN)
    : [];
  if (lastFailure && recentFailures.length >= limits.breakerFailures && t - lastFailure.getTime() < limits.breakerOpenMinutes * MIN) {
    reasons.push(`failure breaker open: ${recentFailures.length} failed switches in ${limits.breakerWindowMinutes} min`);
    allowedAt = Math.max(allowedAt, lastFailure.getTime() + limits.breakerOpenMinutes * MIN);
  }
  return {
    allowed: reasons.length === 0,
    reason: reasons.length ? reasons.join("; ") : undefined,
    allowedAt: reasons.length ? new Date(allowedAt) : undefined,
    switchesLastHour: lastHour.length,
    switchesLastDay: lastDay.length,
    lastSwitchAt: last,
  };
}
