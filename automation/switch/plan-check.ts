import { PlannedStep } from "./stack-operations";

/**
 * Resources a switch of `team` may change: the team's own component subtree and the shared
 * HAProxy config install (which carries every team's backend), the team's backup job, plus
 * monitoring files that are derived from the active colour.
 */
export function isOwnedBySwitch(urn: string, team: string): boolean {
  const name = urn.slice(urn.lastIndexOf("::") + 2);
  return (
    name === `jenkins-${team}` ||
    name.startsWith(`jenkins-${team}-`) ||
    name === "haproxy-config" ||
    // The team's scheduled backup follows its active home.
    name.startsWith(`backup-${team}-`) ||
    // The team's Prometheus file_sd file (its targets' role labels follow the active colour).
    name === `monitoring-file-prometheus-file_sd-${team}-json` ||
    name.startsWith(`monitoring-${team}-`)
  );
}

const NOTHING = new Set(["same", "read", "refresh"]);

/** The team component's record of the colour it last deployed (policy/switch.ts reads it). */
const BOOKKEEPING_INPUTS = new Set(["lastDeployedEnvironment"]);
const JENKINS_TEAM_TYPE = "jenkins-ha:jenkins:JenkinsTeam";

/**
 * After a team's switch commits, the next update of the stack moves that team's
 * `lastDeployedEnvironment` to the new colour: a component input that changes no real
 * resource. Another team's switch may carry it; anything else outside the team may not.
 */
function isBookkeepingOnly(step: PlannedStep): boolean {
  return step.op === "update" && step.type === JENKINS_TEAM_TYPE && step.diffs !== undefined && step.diffs.length > 0 && step.diffs.every((k) => BOOKKEEPING_INPUTS.has(k));
}
const DESTRUCTIVE = new Set(["delete", "replace", "create-replacement", "delete-replaced"]);

/**
 * Refusals for a switch's preview: anything outside the team (and the shared files it
 * owns) that would change, and any home volume that would be deleted or replaced. Pure.
 */
export function checkSwitchPlan(steps: PlannedStep[], team: string): string[] {
  const problems: string[] = [];
  for (const step of steps) {
    if (NOTHING.has(step.op)) continue;
    if (step.type === "pulumi:pulumi:Stack") continue;
    if (!isOwnedBySwitch(step.urn, team)) {
      if (isBookkeepingOnly(step)) continue;
      problems.push(`the plan would ${step.op} ${step.urn}, which is outside team '${team}'; run 'pulumi preview' to see why and deploy that change separately`);
      continue;
    }
    if (/-home$/.test(step.urn) && step.type === "docker:index/volume:Volume" && DESTRUCTIVE.has(step.op)) {
      problems.push(`the plan would ${step.op} home volume ${step.urn}; a switch never touches a home volume — find what changed its inputs`);
    }
  }
  return problems;
}
