import { HEAL_ACTIONS } from "../../config/sections/healing";
import { HealerCounters, TeamHealStatus } from "./healer";

/** What /metrics reads: the healer's counters and per-team status, and the DB state. */
export interface HealerMetricsSource {
  teams: string[];
  counters: HealerCounters;
  status: Map<string, TeamHealStatus>;
  coordinationUp: boolean;
  alertsReceived: number;
}

const SEP = "\u0000";
const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labels = (l: Record<string, string>) => `{${Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`).join(",")}}`;

/**
 * The healer's metrics in the Prometheus text format. `jenkins_ha_heal_actions_total` is
 * the name the dashboards and the metrics contract (render/metrics-contract.ts) read; every
 * team x action series exists from the start at 0, so `increase()` sees the first action.
 */
export function renderHealerMetrics(src: HealerMetricsSource): string {
  const out: string[] = [];
  const family = (name: string, type: "counter" | "gauge", help: string, rows: Array<[Record<string, string>, number]>) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of rows) out.push(`${name}${Object.keys(l).length ? labels(l) : ""} ${v}`);
  };
  const split = (m: Map<string, number>, second: string, seed: readonly string[] = []) => {
    const values = new Map<string, number>();
    for (const team of src.teams) for (const s of seed) values.set(`${team}${SEP}${s}`, 0);
    for (const [k, v] of m) values.set(k, v);
    return [...values.entries()].sort().map(([k, v]): [Record<string, string>, number] => {
      const [team, what] = k.split(SEP);
      return [{ team, [second]: what }, v];
    });
  };
  family("jenkins_ha_heal_actions_total", "counter", "Heal actions taken (restart_container, switch_environment, escalate_human).", split(src.counters.actions, "action", HEAL_ACTIONS));
  family("jenkins_ha_heal_decisions_total", "counter", "Ladder decisions, including 'none' and monitor-only ones.", split(src.counters.decisions, "decision"));
  family("jenkins_ha_heal_failures_total", "counter", "Heal actions or checks that failed.", split(src.counters.failures, "action"));
  const statuses = src.teams.map((t) => src.status.get(t)).filter((s): s is TeamHealStatus => s !== undefined);
  family(
    "jenkins_ha_heal_mode",
    "gauge",
    "Effective healing mode per team (1 for the current one); 'monitor' while the coordination DB is unreachable.",
    statuses.flatMap((s) => (["off", "monitor", "on"] as const).map((m): [Record<string, string>, number] => [{ team: s.team, mode: m, configured: s.configuredMode }, s.effectiveMode === m ? 1 : 0])),
  );
  family("jenkins_ha_heal_team_healthy", "gauge", "1 when the last check found the active colour healthy.", statuses.map((s) => [{ team: s.team }, s.healthy ? 1 : 0]));
  family("jenkins_ha_heal_consecutive_failures", "gauge", "Consecutive failed checks of the active colour.", statuses.map((s) => [{ team: s.team }, s.consecutiveFailures]));
  family("jenkins_ha_heal_needs_human", "gauge", "1 after an escalation, until 'jenkins-ha heal resume'.", statuses.map((s) => [{ team: s.team }, s.needsHuman ? 1 : 0]));
  family("jenkins_ha_heal_paused", "gauge", "1 while on-call paused healing ('jenkins-ha heal pause').", statuses.map((s) => [{ team: s.team }, s.paused ? 1 : 0]));
  family("jenkins_ha_heal_coordination_up", "gauge", "1 when the coordination database answers; 0 means monitor mode, no action.", [[{}, src.coordinationUp ? 1 : 0]]);
  family("jenkins_ha_heal_alert_notifications_total", "counter", "Alertmanager webhook notifications received.", [[{}, src.alertsReceived]]);
  return `${out.join("\n")}\n`;
}
