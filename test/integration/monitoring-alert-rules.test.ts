import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { loadPlatformModel } from "../../config/load";
import { PlatformModel } from "../../config/model";
import { ALERT, PLATFORM_ALERTS, RECORDING, TEAM_ALERTS, ruleGroups } from "../../render/alert-rules";
import { stackConfig } from "../support/stacks";
import { requireTool } from "../support/tools";

/**
 * `promtool test rules` for every alert: it fires after its `for:` window on a bad series,
 * stays silent on a good one and on a single bad sample, and the "no data" case (which for
 * JenkinsDown, JenkinsAvailabilityLow, HaproxyDown and JenkinsPlatformOutage must fire).
 * Series use a 15 s step, the default scrape interval.
 */

const STEP = "15s";
const SAMPLES = 160; // 40 minutes
const model: PlatformModel = loadPlatformModel("prod", stackConfig("prod"));
const TEAM = "devops"; // active: green, on vm1
const teamModel = model.teams.find((t) => t.name === TEAM)!;
const f = model.config.monitoring.alertFor;

interface Series {
  series: string;
  values: string;
}
interface AlertCase {
  eval_time: string;
  alertname: string;
  exp_alerts: Array<{ exp_labels: Record<string, string> }>;
}
interface TestGroup {
  name: string;
  interval: string;
  input_series: Series[];
  alert_rule_test?: AlertCase[];
  promql_expr_test?: Array<{ expr: string; eval_time: string; exp_samples: Array<{ labels: string; value: number }> }>;
}

function sel(metric: string, labels: Record<string, string>): string {
  return `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",")}}`;
}

const jenkinsTarget = { job: "jenkins", team: TEAM, environment: "green", role: "active", host: "vm1", instance: "127.0.0.1:8180" };
const haproxyTarget = { job: "haproxy", host: "vm1", instance: "127.0.0.1:8405", proxy: teamModel.backendName, team: TEAM };

const constant = (value: number) => `${value}x${SAMPLES}`;
/** Good for `before` samples, one bad sample, then good again. */
const oneBad = (good: number, bad: number) => `${good}x20 ${bad} ${good}x${SAMPLES - 21}`;
const counter = (perStep: number) => `0+${perStep}x${SAMPLES}`;
/** A counter that jumps by `extra` once. */
const counterWithJump = (perStep: number, extra: number) => `0+${perStep}x20 ${21 * perStep + extra}+${perStep}x${SAMPLES - 21}`;

const healthyJenkins = (): Series[] => [
  { series: sel("up", jenkinsTarget), values: constant(1) },
  { series: sel("default_jenkins_up", jenkinsTarget), values: constant(1) },
];
const healthyHaproxy = (): Series[] => [
  { series: sel("up", { job: "haproxy", host: "vm1", instance: "127.0.0.1:8405" }), values: constant(1) },
  { series: sel("haproxy_backend_http_requests_total", haproxyTarget), values: counter(100) },
  { series: sel("haproxy_backend_http_responses_total", { ...haproxyTarget, code: "2xx" }), values: counter(100) },
  { series: sel("haproxy_backend_http_responses_total", { ...haproxyTarget, code: "5xx" }), values: counter(0) },
  { series: sel("haproxy_backend_connection_errors_total", haproxyTarget), values: counter(0) },
  { series: sel("haproxy_backend_response_errors_total", haproxyTarget), values: counter(0) },
  { series: sel("haproxy_backend_response_time_average_seconds", haproxyTarget), values: constant(0.2) },
];
/** Replace the series of `metric` (matching `extra` labels) in a list. */
function withSeries(base: Series[], metric: string, labels: Record<string, string>, values: string): Series[] {
  const replaced = sel(metric, labels);
  return [...base.filter((s) => s.series !== replaced), { series: replaced, values }];
}
function without(base: Series[], metricPrefix: string): Series[] {
  return base.filter((s) => !s.series.startsWith(`${metricPrefix}{`));
}

const teamLabels = (source: string, severity: string) => ({ team: TEAM, host: "vm1", scope: "team", source, severity });

/** Minutes after which a condition true from t=0 has fired (for: + the 5m rate window + slack). */
function firedAt(forMinutes: number): string {
  return `${forMinutes + 7}m`;
}
/** Checked at several times so a short blip cannot slip between evaluations. */
function silentAt(alertname: string, forMinutes: number): AlertCase[] {
  return ["5m", "6m", `${forMinutes + 2}m`, firedAt(forMinutes)].map((t) => ({ eval_time: t, alertname, exp_alerts: [] }));
}

interface AlertSpec {
  alertname: string;
  forMinutes: number;
  good: Series[];
  bad: Series[];
  single: Series[];
  /** Series with the alert's own metric missing. */
  noData: Series[];
  firingLabels: Record<string, string>;
  /** When data is missing, which alert must fire instead (or this one, if it counts missing data itself). */
  noDataFires: { alertname: string; labels: Record<string, string> } | "silent-only";
}

const jenkinsDownLabels = { ...teamLabels("jenkins", "critical"), role: "active" };
const good = () => [...healthyJenkins(), ...healthyHaproxy()];

function jenkinsGauge(alertname: string, metric: string, goodValue: number, badValue: number, forMinutes: number, severity = "warning"): AlertSpec {
  const base = good();
  return {
    alertname,
    forMinutes,
    good: withSeries(base, metric, jenkinsTarget, constant(goodValue)),
    bad: withSeries(base, metric, jenkinsTarget, constant(badValue)),
    single: withSeries(base, metric, jenkinsTarget, oneBad(goodValue, badValue)),
    // Scrape missing altogether: this alert has nothing to say, JenkinsDown must fire.
    noData: without(without(without(base, metric), "up"), "default_jenkins_up").concat(healthyHaproxy().filter((s) => s.series.startsWith("up{"))),
    firingLabels: { ...teamLabels("jenkins", severity), environment: "green" },
    noDataFires: { alertname: ALERT.jenkinsDown, labels: jenkinsDownLabels },
  };
}

function diskSpec(): AlertSpec {
  const base = good();
  const cap = sel("default_jenkins_file_store_capacity_bytes", { ...jenkinsTarget, file_store: "/var/jenkins_home" });
  const avail = sel("default_jenkins_file_store_available_bytes", { ...jenkinsTarget, file_store: "/var/jenkins_home" });
  const with_ = (availValues: string) => [...base, { series: cap, values: constant(1000) }, { series: avail, values: availValues }];
  return {
    alertname: ALERT.diskLow,
    forMinutes: f.diskMinutes,
    good: with_(constant(500)),
    bad: with_(constant(50)),
    single: with_(oneBad(500, 50)),
    noData: without(without(base, "up"), "default_jenkins_up"),
    firingLabels: { ...teamLabels("jenkins", "warning"), environment: "green" },
    noDataFires: { alertname: ALERT.jenkinsDown, labels: jenkinsDownLabels },
  };
}

function haproxyAlert(alertname: string, metric: string, labels: Record<string, string>, goodValues: string, badValues: string, singleValues: string): AlertSpec {
  const base = good();
  return {
    alertname,
    forMinutes: f.sliMinutes,
    good: withSeries(base, metric, labels, goodValues),
    bad: withSeries(base, metric, labels, badValues),
    single: withSeries(base, metric, labels, singleValues),
    // HAProxy's numbers missing: no SLI to compare, and availability must count it as failing.
    noData: [...healthyJenkins(), { series: sel("up", { job: "haproxy", host: "vm1", instance: "127.0.0.1:8405" }), values: constant(1) }],
    firingLabels: teamLabels("haproxy", "critical"),
    noDataFires: { alertname: ALERT.availability, labels: teamLabels("haproxy", "critical") },
  };
}

const specs: AlertSpec[] = [
  {
    alertname: ALERT.jenkinsDown,
    forMinutes: f.downMinutes,
    good: good(),
    bad: withSeries(good(), "up", jenkinsTarget, constant(0)),
    single: withSeries(good(), "up", jenkinsTarget, oneBad(1, 0)),
    noData: healthyHaproxy(),
    firingLabels: jenkinsDownLabels,
    noDataFires: { alertname: ALERT.jenkinsDown, labels: jenkinsDownLabels },
  },
  jenkinsGauge(ALERT.healthCheck, "jenkins_health_check_score", 1, 0.5, f.healthScoreMinutes),
  jenkinsGauge(ALERT.queueStuck, "jenkins_queue_stuck_value", 0, 3, f.queueStuckMinutes),
  jenkinsGauge(ALERT.executorsOffline, "jenkins_node_offline_value", 0, 2, f.executorsOfflineMinutes),
  jenkinsGauge(ALERT.heapHigh, "vm_memory_heap_usage", 0.5, 0.93, f.heapMinutes),
  diskSpec(),
  haproxyAlert(ALERT.errorRate, "haproxy_backend_http_responses_total", { ...haproxyTarget, code: "5xx" }, counter(0), counter(10), counterWithJump(0, 10)),
  haproxyAlert(ALERT.latency, "haproxy_backend_response_time_average_seconds", haproxyTarget, constant(0.2), constant(3.5), oneBad(0.2, 3.5)),
  haproxyAlert(ALERT.availability, "haproxy_backend_connection_errors_total", haproxyTarget, counter(0), counter(5), counterWithJump(0, 5)),
];

function alertGroups(spec: AlertSpec): TestGroup[] {
  const at = firedAt(spec.forMinutes);
  const groups: TestGroup[] = [
    {
      name: `${spec.alertname}: fires after for: ${spec.forMinutes}m on a bad series`,
      interval: STEP,
      input_series: spec.bad,
      alert_rule_test: [
        // Still pending shortly before its window is over.
        { eval_time: `${Math.max(1, spec.forMinutes - 1)}m`, alertname: spec.alertname, exp_alerts: [] },
        { eval_time: at, alertname: spec.alertname, exp_alerts: [{ exp_labels: spec.firingLabels }] },
      ],
    },
    { name: `${spec.alertname}: silent on a good series`, interval: STEP, input_series: spec.good, alert_rule_test: silentAt(spec.alertname, spec.forMinutes) },
    { name: `${spec.alertname}: silent on a single bad sample`, interval: STEP, input_series: spec.single, alert_rule_test: silentAt(spec.alertname, spec.forMinutes) },
  ];
  const noData: AlertCase[] =
    spec.noDataFires !== "silent-only" && spec.noDataFires.alertname === spec.alertname
      ? [{ eval_time: at, alertname: spec.alertname, exp_alerts: [{ exp_labels: spec.noDataFires.labels }] }]
      : [{ eval_time: at, alertname: spec.alertname, exp_alerts: [] }];
  if (spec.noDataFires !== "silent-only" && spec.noDataFires.alertname !== spec.alertname) {
    noData.push({ eval_time: firedAt(Math.max(spec.forMinutes, f.downMinutes, f.sliMinutes)), alertname: spec.noDataFires.alertname, exp_alerts: [{ exp_labels: spec.noDataFires.labels }] });
  }
  groups.push({ name: `${spec.alertname}: no data is not healthy`, interval: STEP, input_series: spec.noData, alert_rule_test: noData });
  return groups;
}

/** Up series of every prod team's active colour. */
function teamsUp(downTeams: string[]): Series[] {
  return model.teams.map((t) => ({
    series: sel("up", { job: "jenkins", team: t.name, environment: t.activeEnvironment, role: "active", host: "vm1", instance: t.colours[t.activeEnvironment].url.slice(7) }),
    values: constant(downTeams.includes(t.name) ? 0 : 1),
  }));
}

function platformGroups(): TestGroup[] {
  const haproxyUp = (values: string) => [{ series: sel("up", { job: "haproxy", host: "vm1", instance: "127.0.0.1:8405" }), values }];
  const nodeUp = (values: string) => [{ series: sel("up", { job: "node", host: "vm1", instance: "127.0.0.1:9100" }), values }];
  const pf = f.platformMinutes;
  const at = firedAt(pf);
  const platform = { scope: "platform", severity: "critical" };
  const allTeams = model.teams.map((t) => t.name);
  return [
    { name: "HaproxyDown fires", interval: STEP, input_series: haproxyUp(constant(0)), alert_rule_test: [{ eval_time: at, alertname: ALERT.haproxyDown, exp_alerts: [{ exp_labels: { ...platform, source: "haproxy" } }] }] },
    { name: "HaproxyDown silent when up", interval: STEP, input_series: haproxyUp(constant(1)), alert_rule_test: silentAt(ALERT.haproxyDown, pf) },
    { name: "HaproxyDown silent on one failed scrape", interval: STEP, input_series: haproxyUp(oneBad(1, 0)), alert_rule_test: silentAt(ALERT.haproxyDown, pf) },
    { name: "HaproxyDown: exporter not scraped at all fires", interval: STEP, input_series: nodeUp(constant(1)), alert_rule_test: [{ eval_time: at, alertname: ALERT.haproxyDown, exp_alerts: [{ exp_labels: { ...platform, source: "haproxy" } }] }] },
    {
      name: "HostDown fires when node exporter and every active Jenkins on the host are gone",
      interval: STEP,
      input_series: [...nodeUp(constant(0)), ...teamsUp(allTeams)],
      alert_rule_test: [{ eval_time: at, alertname: ALERT.hostDown, exp_alerts: [{ exp_labels: { scope: "host", severity: "critical", host: "vm1" } }] }],
    },
    { name: "HostDown silent when only node exporter is down", interval: STEP, input_series: [...nodeUp(constant(0)), ...teamsUp([])], alert_rule_test: silentAt(ALERT.hostDown, pf) },
    { name: "HostDown silent on a single bad sample", interval: STEP, input_series: [...nodeUp(oneBad(1, 0)), ...teamsUp(allTeams)], alert_rule_test: silentAt(ALERT.hostDown, pf) },
    { name: "HostDown: nothing scraped at all fires", interval: STEP, input_series: haproxyUp(constant(1)), alert_rule_test: [{ eval_time: at, alertname: ALERT.hostDown, exp_alerts: [{ exp_labels: { scope: "host", severity: "critical", host: "vm1" } }] }] },
    {
      name: "JenkinsPlatformOutage fires when half the teams are down",
      interval: STEP,
      input_series: teamsUp(allTeams.slice(0, 2)),
      alert_rule_test: [{ eval_time: at, alertname: ALERT.platformOutage, exp_alerts: [{ exp_labels: { ...platform, source: "jenkins" } }] }],
    },
    { name: "JenkinsPlatformOutage silent with one team down", interval: STEP, input_series: teamsUp(allTeams.slice(0, 1)), alert_rule_test: silentAt(ALERT.platformOutage, pf) },
    {
      name: "JenkinsPlatformOutage silent on a single bad sample of every team",
      interval: STEP,
      input_series: model.teams.map((t, i) => ({ series: teamsUp([])[i].series, values: oneBad(1, 0) })),
      alert_rule_test: silentAt(ALERT.platformOutage, pf),
    },
    { name: "JenkinsPlatformOutage: no Jenkins scraped at all fires", interval: STEP, input_series: haproxyUp(constant(1)), alert_rule_test: [{ eval_time: at, alertname: ALERT.platformOutage, exp_alerts: [{ exp_labels: { ...platform, source: "jenkins" } }] }] },
  ];
}

function recordingGroup(): TestGroup {
  const series = withSeries(
    withSeries(good(), "haproxy_backend_http_responses_total", { ...haproxyTarget, code: "5xx" }, counter(4)),
    "haproxy_backend_connection_errors_total",
    haproxyTarget,
    counter(1),
  );
  return {
    name: "SLI recording rules: 4 % 5xx and 1 % connection errors",
    interval: STEP,
    input_series: withSeries(series, "haproxy_backend_response_time_average_seconds", haproxyTarget, constant(1.5)),
    promql_expr_test: [
      { expr: RECORDING.errorRate, eval_time: "10m", exp_samples: [{ labels: `${RECORDING.errorRate}{team="${TEAM}"}`, value: 0.04 }] },
      { expr: RECORDING.availability, eval_time: "10m", exp_samples: [{ labels: `${RECORDING.availability}{team="${TEAM}"}`, value: 0.95 }] },
      { expr: RECORDING.p95, eval_time: "10m", exp_samples: [{ labels: `${RECORDING.p95}{team="${TEAM}"}`, value: 1.5 }] },
      { expr: `${RECORDING.activeUp}`, eval_time: "10m", exp_samples: [{ labels: `${RECORDING.activeUp}{environment="green",host="vm1",team="${TEAM}"}`, value: 1 }] },
    ],
  };
}

function idleGroup(): TestGroup {
  const idle = withSeries(good(), "haproxy_backend_http_requests_total", haproxyTarget, constant(500));
  return {
    name: "an idle team (no request) has no ratio, and no SLI alert",
    interval: STEP,
    input_series: idle,
    promql_expr_test: [
      { expr: RECORDING.requests, eval_time: "10m", exp_samples: [{ labels: `${RECORDING.requests}{team="${TEAM}"}`, value: 0 }] },
      { expr: RECORDING.errorRate, eval_time: "10m", exp_samples: [] },
    ],
    alert_rule_test: [ALERT.errorRate, ALERT.latency, ALERT.availability].map((alertname) => ({ eval_time: "15m", alertname, exp_alerts: [] })),
  };
}

describe("promtool test rules: every alert", () => {
  const promtool = requireTool("promtool");
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-rules-"));
    // Annotations are checked by `promtool check rules`; the unit tests compare labels only.
    for (const [file, group] of Object.entries(ruleGroups(model))) {
      const stripped = { ...group, rules: group.rules.map(({ annotations: _annotations, ...rule }) => rule) };
      fs.writeFileSync(path.join(dir, file), YAML.stringify({ groups: [stripped] }));
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  // The other teams have no series here, so their (correct) "no data" alerts stay out of the way.
  const TEAM_RULES = ["recording.yml", `team-${TEAM}.yml`];
  const PLATFORM_RULES = ["recording.yml", "platform.yml"];

  function run(name: string, tests: TestGroup[], ruleFiles: string[]) {
    const file = path.join(dir, `${name}.test.yml`);
    fs.writeFileSync(file, YAML.stringify({ rule_files: ruleFiles, evaluation_interval: STEP, tests }, { lineWidth: 0 }));
    try {
      return execFileSync(promtool, ["test", "rules", file], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`promtool test rules failed for ${name}:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }
  }

  it("covers every team and platform alert the renderer declares", () => {
    const tested = new Set([...specs.map((s) => s.alertname), ...platformGroups().flatMap((g) => g.alert_rule_test?.map((a) => a.alertname) ?? [])]);
    expect([...tested].sort()).toEqual([...TEAM_ALERTS, ...PLATFORM_ALERTS].sort());
    const declared = Object.values(ruleGroups(model)).flatMap((g) => g.rules.map((r) => r.alert).filter((a): a is string => a !== undefined));
    expect([...new Set(declared)].sort()).toEqual([...TEAM_ALERTS, ...PLATFORM_ALERTS].sort());
  });

  it.each(specs.map((s) => [s.alertname, s] as const))("%s: fires after for:, silent when good and on one bad sample, no data is failing", (name, spec) => {
    expect(run(name, alertGroups(spec), TEAM_RULES)).toContain("SUCCESS");
  });

  it("platform alerts: HaproxyDown, HostDown, JenkinsPlatformOutage", () => {
    expect(run("platform", platformGroups(), PLATFORM_RULES)).toContain("SUCCESS");
  });

  it("recording rules compute the SLIs the switch gates and the healer read; idle is not an error", () => {
    expect(run("recording", [recordingGroup(), idleGroup()], TEAM_RULES)).toContain("SUCCESS");
  });
});
