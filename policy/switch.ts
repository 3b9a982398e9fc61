/**
 * Policies 1 and 2: a colour switch carries its switch record, with a fresh backup, within
 * the switch budget.
 *
 * How a policy knows that a deployment is a switch: the program reads the colour of each
 * team in the stack's LAST deployment from the stack's own outputs (a StackReference to
 * itself, `teams.<t>.activeEnvironment`) and passes it, with the colour this deployment
 * makes active and the switch record from config, as the inputs of the team's
 * `jenkins-ha:jenkins:JenkinsTeam` component:
 *
 *     { team, activeEnvironment, lastDeployedEnvironment?, switchRecord? }
 *
 * `lastDeployedEnvironment` comes from what was deployed, not from the config being
 * changed, so hand-editing `activeEnvironment` (without a record) is still seen as a switch.
 * It is absent for a team (or stack) never deployed: a first deployment needs no record.
 * The limits (backup age, budget) are policy config, not stack config, so a change cannot
 * loosen the gate it is checked by.
 */
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { COLOURS, Colour, TYPES, configOf, schemaWithDefaults } from "./resources";

/** The record `teams.<t>.switchRecord` the switch orchestrator writes (see config/sections/switch.ts). */
export interface SwitchRecordProps {
  id?: string;
  requestedBy?: string;
  reason?: string;
  from?: string;
  to?: string;
  backupId?: string;
  backupVerifiedAt?: string;
  requestedAt?: string;
  mode?: string;
  forced?: boolean;
  switchesLastHour?: number;
  switchesLastDay?: number;
  lastSwitchAt?: string;
}

/** Inputs of a JenkinsTeam component (components/jenkins-team.ts, JenkinsTeamSwitchState). */
export interface SwitchStateProps {
  team?: string;
  activeEnvironment?: string;
  lastDeployedEnvironment?: string;
  switchRecord?: SwitchRecordProps;
}

const MINUTE = 60_000;

export const SWITCH_RECORD_DEFAULTS = {
  /** A switch's backup must have been verified at most this long before the deployment. */
  backupMaxAgeMinutes: 60,
  /** Tolerated clock difference between the backup job and the machine running the preview. */
  clockSkewMinutes: 5,
};
export type SwitchRecordConfig = typeof SWITCH_RECORD_DEFAULTS;

export const SWITCH_BUDGET_DEFAULTS = {
  maxSwitchesPerHour: 2,
  maxSwitchesPerDay: 5,
  cooldownMinutes: 30,
};
export type SwitchBudgetConfig = typeof SWITCH_BUDGET_DEFAULTS;

function isColour(value: unknown): value is Colour {
  return COLOURS.includes(value as Colour);
}

function blank(value: unknown): boolean {
  return typeof value !== "string" || value.trim() === "";
}

function parseTime(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

function switchCommand(team: string, to: string): string {
  return `run 'jenkins-ha switch --team ${team} --to ${to}' (it takes the team lock, checks the budget, runs and verifies a backup and writes teams.${team}.switchRecord)`;
}

/** The team's colour changes against the last deployment. */
export function isSwitching(state: SwitchStateProps): boolean {
  return isColour(state.lastDeployedEnvironment) && state.activeEnvironment !== state.lastDeployedEnvironment;
}

/**
 * A switch is staged (record written, target started, colour not yet committed) or being
 * committed: the two moments the budget applies to.
 */
export function isSwitchInProgress(state: SwitchStateProps): boolean {
  const r = state.switchRecord;
  if (isSwitching(state)) return true;
  return r !== undefined && r.from === state.activeEnvironment && r.to !== state.activeEnvironment;
}

/** Problems with a JenkinsTeam's switch state (policy 1). Pure: `now` is given. */
export function switchRecordProblems(state: SwitchStateProps, config: SwitchRecordConfig, now: number): string[] {
  const team = state.team ?? "?";
  if (!isColour(state.activeEnvironment)) {
    // Fail closed: without its inputs the component cannot show it is not an unrecorded switch.
    return [
      `JenkinsTeam '${team}' carries no switch state (activeEnvironment is ${JSON.stringify(state.activeEnvironment)}); ` +
        "the program must pass { team, activeEnvironment, lastDeployedEnvironment, switchRecord } as the component's inputs " +
        "(components/jenkins-team.ts) and PULUMI_NODEJS_SKIP_COMPONENT_INPUTS must not be set",
    ];
  }
  if (!isSwitching(state)) return [];
  const from = state.lastDeployedEnvironment as Colour;
  const to = state.activeEnvironment;
  const r = state.switchRecord;
  if (!r) {
    return [`team '${team}' switches ${from} -> ${to} without a switch record; ${switchCommand(team, to)}`];
  }
  const problems: string[] = [];
  const id = r.id ?? "?";
  if (r.from !== from || r.to !== to) {
    problems.push(
      `switch record '${id}' of team '${team}' is for ${String(r.from)} -> ${String(r.to)}, but this deployment switches ${from} -> ${to}; ` +
        `the record is left from another switch: ${switchCommand(team, to)}`,
    );
  }
  const missing = (["id", "requestedBy", "reason", "backupId", "backupVerifiedAt"] as const).filter((k) => blank(r[k]));
  if (missing.length > 0) {
    problems.push(`switch record '${id}' of team '${team}' lacks ${missing.join(", ")}; ${switchCommand(team, to)}`);
  }
  if (!blank(r.backupId) && r.backupId?.trim().toLowerCase() === "none") {
    problems.push(`switch record '${id}' of team '${team}' names no backup (backupId 'none'); run a verified backup first: ${switchCommand(team, to)}`);
  }
  if (!blank(r.backupVerifiedAt)) {
    const verifiedAt = parseTime(r.backupVerifiedAt);
    if (verifiedAt === undefined) {
      problems.push(`switch record '${id}' of team '${team}': backupVerifiedAt '${r.backupVerifiedAt}' is not an ISO-8601 time; ${switchCommand(team, to)}`);
    } else if (verifiedAt - now > config.clockSkewMinutes * MINUTE) {
      problems.push(
        `switch record '${id}' of team '${team}': backup '${r.backupId}' is verified in the future (${r.backupVerifiedAt}); check the clocks of the backup host, then ${switchCommand(team, to)}`,
      );
    } else if (now - verifiedAt > config.backupMaxAgeMinutes * MINUTE) {
      const age = Math.floor((now - verifiedAt) / MINUTE);
      problems.push(
        `switch record '${id}' of team '${team}': backup '${r.backupId}' was verified ${age} min ago (at ${r.backupVerifiedAt}), ` +
          `more than the ${config.backupMaxAgeMinutes} min allowed; run and verify a new backup: ${switchCommand(team, to)}`,
      );
    }
  }
  return problems;
}

/** Budget-exempt switches: on-call force (audited) and rollbacks, as the orchestrator runs them. */
export function isBudgetExempt(record: SwitchRecordProps): boolean {
  return record.forced === true || record.mode === "force" || record.mode === "rollback";
}

/** Problems with a switch's budget proof (policy 2). Pure. */
export function switchBudgetProblems(state: SwitchStateProps, config: SwitchBudgetConfig): string[] {
  const r = state.switchRecord;
  // Without a record there is no proof to check: policy 1 already refuses an unrecorded switch.
  if (!r || !isSwitchInProgress(state) || isBudgetExempt(r)) return [];
  const team = state.team ?? "?";
  const id = r.id ?? "?";
  const later = "wait, or ask on-call for 'jenkins-ha switch --mode force' (audited)";
  const { switchesLastHour: hour, switchesLastDay: day } = r;
  if (typeof hour !== "number" || typeof day !== "number") {
    return [
      `switch record '${id}' of team '${team}' carries no budget proof (switchesLastHour, switchesLastDay, lastSwitchAt); ` +
        `let 'jenkins-ha switch --team ${team}' write the record: it reads them from the coordination database`,
    ];
  }
  const problems: string[] = [];
  if (hour >= config.maxSwitchesPerHour) {
    problems.push(`team '${team}' had ${hour} switches in the last hour (max ${config.maxSwitchesPerHour}); ${later}`);
  }
  if (day >= config.maxSwitchesPerDay) {
    problems.push(`team '${team}' had ${day} switches in the last day (max ${config.maxSwitchesPerDay}); ${later}`);
  }
  if (r.lastSwitchAt !== undefined) {
    const last = parseTime(r.lastSwitchAt);
    const requested = parseTime(r.requestedAt);
    if (last === undefined || requested === undefined) {
      problems.push(`switch record '${id}' of team '${team}': lastSwitchAt/requestedAt are not ISO-8601 times; let the orchestrator rewrite the record`);
    } else if (requested - last < config.cooldownMinutes * MINUTE) {
      const allowedAt = new Date(last + config.cooldownMinutes * MINUTE).toISOString();
      problems.push(
        `team '${team}' switched at ${r.lastSwitchAt}; the ${config.cooldownMinutes} min cooldown ends at ${allowedAt}; ${later}`,
      );
    }
  }
  return problems;
}

function validateSwitchState(
  check: (state: SwitchStateProps, args: ResourceValidationArgs) => string[],
): (args: ResourceValidationArgs, report: ReportViolation) => void {
  return (args, report) => {
    if (args.type !== TYPES.jenkinsTeam) return;
    for (const problem of check(args.props as SwitchStateProps, args)) report(problem);
  };
}

export const switchRecordPolicy: ResourceValidationPolicy = {
  name: "switch-record",
  description:
    "A team whose active colour differs from the colour last deployed carries a switch record (id, requested by, reason, backup id) with a backup verified within the window.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithDefaults(SWITCH_RECORD_DEFAULTS, {
    backupMaxAgeMinutes: "Maximum age of the switch's verified backup, in minutes.",
    clockSkewMinutes: "How far in the future a backup verification time may lie (clock skew), in minutes.",
  }),
  validateResource: validateSwitchState((state, args) =>
    switchRecordProblems(state, configOf(SWITCH_RECORD_DEFAULTS, args.getConfig()), Date.now()),
  ),
};

export const switchBudgetPolicy: ResourceValidationPolicy = {
  name: "switch-budget",
  description: "A switch's budget proof (switches in the last hour / day, last switch time) is within the limits.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithDefaults(SWITCH_BUDGET_DEFAULTS, {
    maxSwitchesPerHour: "Completed switches of a team allowed in any hour (before this one).",
    maxSwitchesPerDay: "Completed switches of a team allowed in any 24 hours (before this one).",
    cooldownMinutes: "Minutes after a team's last switch before the next may start.",
  }),
  validateResource: validateSwitchState((state, args) => switchBudgetProblems(state, configOf(SWITCH_BUDGET_DEFAULTS, args.getConfig()))),
};
