import YAML from "yaml";
import { HostModel, PlatformModel, TeamModel } from "../config/model";
import { header, JOB } from "./prometheus";
import { monitoringHost, platformHosts, reachableAddress } from "./monitoring-targets";

/**
 * Recording rules the switch gates, the healer and the dashboards read. Every SLI series
 * carries a `team` label only.
 *
 * "No data" is never "healthy": the ratios are absent when a team had no request in the
 * window (idle), and `jenkins_ha:requests:rate5m` itself is absent only when HAProxy's
 * numbers are missing (exporter not scraped), which the availability alert counts as failing.
 */
export const RECORDING = {
  requests: "jenkins_ha:requests:rate5m",
  errors: "jenkins_ha:errors:rate5m",
  unavailable: "jenkins_ha:unavailable:rate5m",
  errorRate: "jenkins_ha:error_rate:ratio_rate5m",
  availability: "jenkins_ha:availability:ratio_rate5m",
  p95: "jenkins_ha:p95_seconds",
  activeUp: "jenkins_ha:active:up",
  teamsDownRatio: "jenkins_ha:active_teams_down:ratio",
} as const;

export const ALERT = {
  jenkinsDown: "JenkinsDown",
  healthCheck: "JenkinsHealthCheckFailing",
  queueStuck: "JenkinsQueueStuck",
  executorsOffline: "JenkinsExecutorsOffline",
  heapHigh: "JenkinsHeapHigh",
  diskLow: "JenkinsDiskLow",
  errorRate: "JenkinsErrorRateHigh",
  latency: "JenkinsLatencyHigh",
  availability: "JenkinsAvailabilityLow",
  haproxyDown: "HaproxyDown",
  hostDown: "HostDown",
  platformOutage: "JenkinsPlatformOutage",
} as const;

/** Every alert a team has; `scope="team"` on all of them (inhibition targets it). */
export const TEAM_ALERTS = [
  ALERT.jenkinsDown,
  ALERT.healthCheck,
  ALERT.queueStuck,
  ALERT.executorsOffline,
  ALERT.heapHigh,
  ALERT.diskLow,
  ALERT.errorRate,
  ALERT.latency,
  ALERT.availability,
] as const;

export const PLATFORM_ALERTS = [ALERT.haproxyDown, ALERT.hostDown, ALERT.platformOutage] as const;

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: Rule[];
}

const WINDOW = "5m";

function recordingRules(model: PlatformModel): Rule[] {
  const withTeam = `team!=""`;
  const teamCount = Math.max(1, model.teams.length);
  return [
    { record: RECORDING.requests, expr: `sum by (team) (rate(haproxy_backend_http_requests_total{${withTeam}}[${WINDOW}]))` },
    { record: RECORDING.errors, expr: `sum by (team) (rate(haproxy_backend_http_responses_total{${withTeam},code="5xx"}[${WINDOW}]))` },
    {
      record: RECORDING.unavailable,
      expr: [
        RECORDING.errors,
        `sum by (team) (rate(haproxy_backend_connection_errors_total{${withTeam}}[${WINDOW}]))`,
        `sum by (team) (rate(haproxy_backend_response_errors_total{${withTeam}}[${WINDOW}]))`,
      ].join("\n+\n"),
    },
    // `> 0` drops idle teams instead of recording 0/0 = NaN, which would compare as "fine".
    { record: RECORDING.errorRate, expr: `${RECORDING.errors}\n/\n(${RECORDING.requests} > 0)` },
    {
      record: RECORDING.availability,
      expr: `clamp_min(1 - ${RECORDING.unavailable} / (${RECORDING.requests} > 0), 0)`,
    },
    // HAProxy's exporter has no latency histogram: this is the 95th percentile, over the
    // window, of its response-time average (last 1024 requests), kept only while there is
    // traffic (the average freezes when a backend is idle).
    {
      record: RECORDING.p95,
      expr: `max by (team) (quantile_over_time(0.95, haproxy_backend_response_time_average_seconds{${withTeam}}[${WINDOW}]))\nand on (team)\n(${RECORDING.requests} > 0)`,
    },
    { record: RECORDING.activeUp, expr: `max by (team, environment, host) (up{job="${JOB.jenkins}",role="active"})` },
    {
      record: RECORDING.teamsDownRatio,
      expr: `1 - (count(max by (team) (up{job="${JOB.jenkins}",role="active"}) == 1) or vector(0)) / ${teamCount}`,
    },
  ];
}

function minutes(n: number): string {
  return `${n}m`;
}

function q(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",")}}`;
}

function teamRules(model: PlatformModel, team: TeamModel): Rule[] {
  const m = model.config.monitoring;
  const t = m.thresholds;
  const f = m.alertFor;
  const active = q({ job: JOB.jenkins, team: team.name, role: "active" });
  const byTeam = q({ team: team.name });
  const labels = (source: "jenkins" | "haproxy", severity: "critical" | "warning") => ({
    team: team.name,
    host: team.host.name,
    scope: "team",
    source,
    severity,
  });
  const dashboard = `${grafanaUrl(model)}/d/${teamDashboardUid(team.name)}`;
  const notes = (summary: string, description: string) => ({ summary, description, dashboard });
  return [
    {
      alert: ALERT.jenkinsDown,
      // A missing target or a missing `default_jenkins_up` counts as down (vector(0)).
      expr: `(max(up${active}) or vector(0)) == 0\nor\n(max(default_jenkins_up${active}) or vector(0)) == 0`,
      for: minutes(f.downMinutes),
      labels: { ...labels("jenkins", "critical"), role: "active" },
      annotations: notes(
        `Jenkins ${team.name}: the active controller is down or not scraped`,
        `Neither a successful scrape of ${team.name}'s active colour nor default_jenkins_up = 1 for ${f.downMinutes} minutes.`,
      ),
    },
    {
      alert: ALERT.healthCheck,
      expr: `min by (team, environment) (jenkins_health_check_score${active}) < ${t.minHealthScore}`,
      for: minutes(f.healthScoreMinutes),
      labels: labels("jenkins", "warning"),
      annotations: notes(`Jenkins ${team.name}: health-check score {{ $value }}`, `The Metrics plugin health checks of ${team.name} ({{ $labels.environment }}) report a score below ${t.minHealthScore}.`),
    },
    {
      alert: ALERT.queueStuck,
      expr: `max by (team, environment) (jenkins_queue_stuck_value${active}) > 0`,
      for: minutes(f.queueStuckMinutes),
      labels: labels("jenkins", "warning"),
      annotations: notes(`Jenkins ${team.name}: {{ $value }} stuck queue items`, `Builds of ${team.name} have been stuck in the queue for ${f.queueStuckMinutes} minutes.`),
    },
    {
      alert: ALERT.executorsOffline,
      expr: `max by (team, environment) (jenkins_node_offline_value${active}) > ${t.maxOfflineNodes}`,
      for: minutes(f.executorsOfflineMinutes),
      labels: labels("jenkins", "warning"),
      annotations: notes(`Jenkins ${team.name}: {{ $value }} agents offline`, `More than ${t.maxOfflineNodes} agents of ${team.name} have been offline for ${f.executorsOfflineMinutes} minutes.`),
    },
    {
      alert: ALERT.heapHigh,
      expr: `max by (team, environment) (vm_memory_heap_usage${active}) > ${t.maxHeapRatio}`,
      for: minutes(f.heapMinutes),
      labels: labels("jenkins", "warning"),
      annotations: notes(`Jenkins ${team.name}: heap at {{ $value | humanizePercentage }}`, `JVM heap use of ${team.name} above ${pct(t.maxHeapRatio)} for ${f.heapMinutes} minutes.`),
    },
    {
      alert: ALERT.diskLow,
      expr: `min by (team, environment) (default_jenkins_file_store_available_bytes${active} / default_jenkins_file_store_capacity_bytes${active}) < ${t.minDiskFreeRatio}`,
      for: minutes(f.diskMinutes),
      labels: labels("jenkins", "warning"),
      annotations: notes(`Jenkins ${team.name}: {{ $value | humanizePercentage }} disk free`, `A file store of ${team.name} (its home volume) has less than ${pct(t.minDiskFreeRatio)} free.`),
    },
    {
      alert: ALERT.errorRate,
      expr: `${RECORDING.errorRate}${byTeam} > ${t.maxErrorRate}`,
      for: minutes(f.sliMinutes),
      labels: labels("haproxy", "critical"),
      annotations: notes(`Jenkins ${team.name}: error rate {{ $value | humanizePercentage }}`, `5xx answers through HAProxy above ${pct(t.maxErrorRate)} for ${f.sliMinutes} minutes.`),
    },
    {
      alert: ALERT.latency,
      expr: `${RECORDING.p95}${byTeam} > ${t.maxP95Ms / 1000}`,
      for: minutes(f.sliMinutes),
      labels: labels("haproxy", "critical"),
      annotations: notes(`Jenkins ${team.name}: p95 {{ $value | humanizeDuration }}`, `p95 response time through HAProxy above ${t.maxP95Ms} ms for ${f.sliMinutes} minutes.`),
    },
    {
      alert: ALERT.availability,
      // HAProxy numbers missing for the team (absent request rate) is failing, not healthy.
      expr: `${RECORDING.availability}${byTeam} < ${t.minAvailability}\nor\nabsent(${RECORDING.requests}${byTeam})`,
      for: minutes(f.sliMinutes),
      labels: labels("haproxy", "critical"),
      annotations: notes(
        `Jenkins ${team.name}: availability {{ $value | humanizePercentage }} or no HAProxy data`,
        `Availability through HAProxy below ${pct(t.minAvailability)}, or no HAProxy numbers for ${team.name}, for ${f.sliMinutes} minutes.`,
      ),
    },
  ];
}

function platformRules(model: PlatformModel): Rule[] {
  const m = model.config.monitoring;
  const f = m.alertFor;
  const labels = { scope: "platform", severity: "critical" };
  const hostDown = (host: HostModel): Rule => ({
    alert: ALERT.hostDown,
    // Node exporter and every active controller on the host gone together: the host, not
    // one container. The exporter alone failing never silences the teams (inhibition).
    expr: `(max(up${q({ job: JOB.node, host: host.name })}) or vector(0)) == 0\nand on ()\n(max(up${q({ job: JOB.jenkins, host: host.name, role: "active" })}) or vector(0)) == 0`,
    for: minutes(f.platformMinutes),
    labels: { scope: "host", severity: "critical", host: host.name },
    annotations: { summary: `Host ${host.name} is down`, description: `Node exporter and every active Jenkins on ${host.name} unreachable for ${f.platformMinutes} minutes.` },
  });
  return [
    {
      alert: ALERT.haproxyDown,
      expr: `(max(up{job="${JOB.haproxy}"}) or vector(0)) == 0`,
      for: minutes(f.platformMinutes),
      labels: { ...labels, source: "haproxy" },
      annotations: { summary: "HAProxy (or its exporter) is down", description: `HAProxy's /metrics not scraped for ${f.platformMinutes} minutes: every team's SLI is unknown.` },
    },
    ...platformHosts(model).map(hostDown),
    {
      alert: ALERT.platformOutage,
      expr: `${RECORDING.teamsDownRatio} >= ${m.thresholds.platformOutageRatio}`,
      for: minutes(f.platformMinutes),
      labels: { ...labels, source: "jenkins" },
      annotations: { summary: "Platform-wide outage: {{ $value | humanizePercentage }} of teams down", description: `At least ${pct(m.thresholds.platformOutageRatio)} of the teams' active controllers are down; per-team pages are inhibited.` },
    },
  ];
}

function pct(ratio: number): string {
  return `${Number((ratio * 100).toFixed(3))} %`;
}

export function grafanaUrl(model: PlatformModel): string {
  const m = model.config.monitoring;
  return (m.grafana.rootUrl ?? `http://${reachableAddress(m.bindAddress, monitoringHost(model))}:${m.ports.grafana}`).replace(/\/$/, "");
}

export function teamDashboardUid(team: string): string {
  return `jenkins-ha-team-${team}`;
}

export function ruleGroups(model: PlatformModel): Record<string, RuleGroup> {
  return {
    "recording.yml": { name: "jenkins-ha-sli", rules: recordingRules(model) },
    "platform.yml": { name: "jenkins-ha-platform", rules: platformRules(model) },
    ...Object.fromEntries(model.teams.map((team) => [`team-${team.name}.yml`, { name: `jenkins-team-${team.name}`, rules: teamRules(model, team) }])),
  };
}

/** Rule files by name (relative to `rules/`). */
export function renderRuleFiles(model: PlatformModel): Record<string, string> {
  return Object.fromEntries(
    Object.entries(ruleGroups(model)).map(([file, group]) => [file, header(model, `rules/${file}`) + YAML.stringify({ groups: [group] }, { lineWidth: 0 })]),
  );
}
