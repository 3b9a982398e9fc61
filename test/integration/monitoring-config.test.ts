import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { loadPlatformModel } from "../../config/load";
import { PlatformModel } from "../../config/model";
import { ALERT, RECORDING, ruleGroups } from "../../render/alert-rules";
import { DOCKER_LOG_OPTS } from "../../render/alloy";
import { Dashboard, LOKI_DATASOURCE, PROMETHEUS_DATASOURCE } from "../../render/grafana";
import { lokiConfig } from "../../render/loki";
import { PROVIDED_METRICS } from "../../render/metrics-contract";
import { renderLoggingFiles, renderMonitoringFiles, renderMonitoringStackFiles } from "../../render/monitoring";
import { monitoringTargets } from "../../render/monitoring-targets";
import { clone, generatedConfig, stackConfig } from "../support/stacks";
import { requireTool } from "../support/tools";

type Raw = Record<string, any>; // raw stack config, as read from YAML

const STACKS: Array<[string, () => Raw]> = [
  ["prod", () => stackConfig("prod")],
  ["20 teams on 2 hosts", () => generatedConfig(20, 2)],
];

function model(name: string, raw: Raw): PlatformModel {
  return loadPlatformModel(name.replace(/\W+/g, "-"), raw);
}

function writeTree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-monitoring-"));
  for (const [relative, text] of Object.entries(files)) {
    const file = path.join(dir, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return dir;
}

function run(tool: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(requireTool(tool), args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`${tool} ${args.join(" ")} failed:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

/** Metric names in a PromQL expression: identifiers that are not functions, keywords or label names. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const keywords = new Set(["and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "inf", "nan"]);
  const names = [...stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)]
    .filter((m) => m[2] === undefined && !keywords.has(m[1].toLowerCase()))
    .map((m) => m[1]);
  return [...new Set(names)];
}

it("metricNames finds metric names, not functions, keywords or label names", () => {
  expect(metricNames('sum by (team) (rate(foo_total{code="5xx",a=~"b|c"}[5m])) / on (team) (bar > 0) or vector(0)').sort()).toEqual(["bar", "foo_total"]);
  expect(metricNames("time() - x_seconds{team=\"a\"}")).toEqual(["x_seconds"]);
});

describe.each(STACKS)("monitoring config for %s", (name, raw) => {
  let m: PlatformModel;
  let dir: string;
  beforeAll(() => {
    m = model(name, raw());
    dir = writeTree(renderMonitoringFiles(m));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("promtool check config accepts prometheus.yml with its file_sd files and rule files", () => {
    const out = run("promtool", ["check", "config", "prometheus/prometheus.yml"], dir);
    expect(out).toContain("is valid prometheus config file syntax");
    expect(out).toContain(`SUCCESS: ${m.teams.length + 2} rule files found`);
    const files = fs.readdirSync(path.join(dir, "prometheus/file_sd")).sort();
    expect(files).toEqual(m.teams.map((t) => `${t.name}.json`).sort());
  });

  it("promtool check rules accepts every rule file", () => {
    const rules = fs.readdirSync(path.join(dir, "prometheus/rules")).map((f) => `prometheus/rules/${f}`);
    const out = run("promtool", ["check", "rules", ...rules], dir);
    expect(out.match(/SUCCESS/g)).toHaveLength(rules.length);
  });

  it("amtool check-config accepts alertmanager.yml; each team routes to its receiver, platform alerts to the platform", () => {
    const file = path.join(dir, "alertmanager/alertmanager.yml");
    expect(run("amtool", ["check-config", file])).toContain("SUCCESS");
    for (const team of m.teams.slice(0, 3)) {
      const receiver = run("amtool", ["config", "routes", "test", `--config.file=${file}`, `team=${team.name}`, `alertname=${ALERT.jenkinsDown}`]).trim();
      expect(receiver).toBe(`team-${team.name}`);
    }
    expect(run("amtool", ["config", "routes", "test", `--config.file=${file}`, `alertname=${ALERT.haproxyDown}`]).trim()).toBe("platform");
  });

  it("file_sd holds the running colours with team / environment / role / host labels", () => {
    const targets = monitoringTargets(m);
    for (const team of m.teams) {
      const groups = JSON.parse(fs.readFileSync(path.join(dir, `prometheus/file_sd/${team.name}.json`), "utf8")) as Array<{ targets: string[]; labels: Record<string, string> }>;
      const running = targets.jenkins.teams[team.name].filter((t) => t.scraped);
      expect(groups).toEqual(running.map((t) => ({ targets: [t.target], labels: t.labels })));
      expect(groups).toContainEqual({
        targets: [`${team.host.address}:${team.colours[team.activeEnvironment].webPort}`],
        labels: { team: team.name, environment: team.activeEnvironment, role: "active", host: team.host.name },
      });
    }
  });

  it("dashboards are valid JSON; every Prometheus query parses (promtool) and reads a metric a rule or a scrape provides", () => {
    const dashboardFiles = fs.readdirSync(path.join(dir, "grafana/dashboards"));
    expect(dashboardFiles.sort()).toEqual(["overview.json", ...m.teams.map((t) => `team-${t.name}.json`)].sort());
    const recorded = new Set(Object.values(ruleGroups(m)).flatMap((g) => g.rules.map((r) => r.record).filter((r): r is string => r !== undefined)));
    const provided = new Set([...PROVIDED_METRICS, ...recorded, "ALERTS"]);
    const exprs: Array<{ where: string; expr: string }> = [];
    for (const file of dashboardFiles) {
      const d = JSON.parse(fs.readFileSync(path.join(dir, "grafana/dashboards", file), "utf8")) as Dashboard;
      expect(d.uid).toMatch(/^jenkins-ha-/);
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const panel of d.panels) {
        expect(panel.targets.length).toBeGreaterThan(0);
        for (const t of panel.targets) {
          if (panel.datasource.uid === LOKI_DATASOURCE.uid) {
            expect(t.expr).toMatch(/^\{team="[a-z0-9-]+"\}$/);
            continue;
          }
          expect(panel.datasource).toEqual(PROMETHEUS_DATASOURCE);
          exprs.push({ where: `${file} "${panel.title}"`, expr: t.expr });
        }
      }
      for (const a of d.annotations.list) exprs.push({ where: `${file} annotation "${a.name}"`, expr: a.expr });
    }
    // Team dashboards: the per-team panels the issue asks for.
    const devops = JSON.parse(fs.readFileSync(path.join(dir, `grafana/dashboards/team-${m.teams[0].name}.json`), "utf8")) as Dashboard;
    const allExprs = devops.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
    for (const needle of [RECORDING.activeUp, RECORDING.availability, RECORDING.errorRate, RECORDING.p95, "jenkins_queue_size_value", "default_jenkins_executors_busy", "vm_memory_heap_usage", "jenkins_ha_backup_last_success_timestamp_seconds"]) {
      expect(allExprs).toContain(needle);
    }
    expect(devops.annotations.list.map((a) => a.name)).toEqual(["Switches", "Heal actions"]);

    for (const { where, expr } of exprs) {
      for (const metric of metricNames(expr)) {
        if (!provided.has(metric)) throw new Error(`${where} queries '${metric}', which no rule or scrape provides`);
      }
    }
    // promtool parses expressions through a rule file.
    const ruleFile = path.join(dir, "dashboard-queries.yml");
    fs.writeFileSync(ruleFile, YAML.stringify({ groups: [{ name: "dashboard-queries", rules: exprs.map((e, i) => ({ record: `dashboard:query_${i}:check`, expr: e.expr })) }] }));
    expect(run("promtool", ["check", "rules", ruleFile])).toContain(`SUCCESS: ${exprs.length} rules found`);
  });

  it("every rule reads only metrics a rule or a scrape provides", () => {
    const groups = Object.values(ruleGroups(m));
    const recorded = new Set(groups.flatMap((g) => g.rules.map((r) => r.record).filter((r): r is string => r !== undefined)));
    for (const rule of groups.flatMap((g) => g.rules)) {
      for (const metric of metricNames(rule.expr)) {
        expect([metric, PROVIDED_METRICS.includes(metric) || recorded.has(metric)]).toEqual([metric, true]);
      }
    }
  });
});

describe("what a change touches", () => {
  it("changing a team's active colour changes only that team's file_sd file", () => {
    const raw = stackConfig("prod");
    const before = renderMonitoringFiles(model("prod", raw));
    const flipped = clone(raw) as Raw;
    flipped.teams.ma.activeEnvironment = "green";
    const after = renderMonitoringFiles(model("prod", flipped));
    const changed = Object.keys(after).filter((file) => after[file] !== before[file]);
    expect(changed).toEqual(["prometheus/file_sd/ma.json"]);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
  });

  it("logging.enabled: false removes Loki and Alloy and leaves Prometheus and Alertmanager byte-identical", () => {
    const raw = stackConfig("prod");
    const on = renderMonitoringStackFiles(model("prod", raw));
    const off = renderMonitoringStackFiles(model("prod", { ...clone(raw), logging: { enabled: false } }));
    const promAndAm = (files: Record<string, string>) => Object.fromEntries(Object.entries(files).filter(([p]) => p.startsWith("prometheus/") || p.startsWith("alertmanager/")));
    expect(promAndAm(off)).toEqual(promAndAm(on));
    expect(renderLoggingFiles(model("prod", { ...clone(raw), logging: { enabled: false } }))).toEqual({});
    expect(off["grafana/provisioning/datasources/prometheus.yaml"]).toBe(on["grafana/provisioning/datasources/prometheus.yaml"]);
    expect(YAML.parse(off["grafana/provisioning/datasources/loki.yaml"])).toEqual({ apiVersion: 1, deleteDatasources: [{ name: "Loki", orgId: 1 }] });
  });

  it("thresholds come from config, with the seed's values as defaults", () => {
    const defaults = renderMonitoringFiles(model("prod", stackConfig("prod")))["prometheus/rules/team-devops.yml"];
    expect(defaults).toContain("jenkins_ha:error_rate:ratio_rate5m{team=\"devops\"} > 0.02");
    expect(defaults).toContain("jenkins_ha:p95_seconds{team=\"devops\"} > 2\n");
    expect(defaults).toContain("jenkins_ha:availability:ratio_rate5m{team=\"devops\"} < 0.995");
    expect(defaults).toContain("(vm_memory_heap_usage{job=\"jenkins\",team=\"devops\",role=\"active\"}) > 0.8");
    const raw = { ...stackConfig("prod"), monitoring: { thresholds: { maxErrorRate: 0.05, maxP95Ms: 1500 }, alertFor: { sliMinutes: 3 } } };
    const custom = renderMonitoringFiles(model("prod", raw))["prometheus/rules/team-devops.yml"];
    expect(custom).toContain("> 0.05");
    expect(custom).toContain("jenkins_ha:p95_seconds{team=\"devops\"} > 1.5\n");
    expect(custom).toContain("for: 3m");
  });
});

/**
 * No Loki or Alloy binary is packaged for this machine, so their configs are checked
 * against the documented shape (Loki's single-binary / monolithic example with TSDB and
 * compactor retention; Alloy's component syntax) rather than run.
 */
describe("logging config structure", () => {
  const m = model("prod", stackConfig("prod"));
  const files = renderLoggingFiles(m);

  it("loki.yaml has the single-binary shape: inmemory ring, filesystem storage, tsdb v13, compactor retention from config", () => {
    const parsed = YAML.parse(files["loki/loki.yaml"]) as Raw;
    expect(parsed).toEqual(lokiConfig(m));
    const topLevel = ["auth_enabled", "server", "common", "schema_config", "limits_config", "compactor", "analytics"];
    expect(Object.keys(parsed).sort()).toEqual([...topLevel].sort());
    expect(parsed.auth_enabled).toBe(false);
    expect(parsed.server).toMatchObject({ http_listen_address: "127.0.0.1", http_listen_port: 3100 });
    expect(parsed.common).toMatchObject({ replication_factor: 1, ring: { kvstore: { store: "inmemory" } }, storage: { filesystem: expect.any(Object) } });
    expect(parsed.schema_config.configs).toEqual([expect.objectContaining({ store: "tsdb", object_store: "filesystem", schema: "v13", index: { prefix: "index_", period: "24h" } })]);
    expect(parsed.limits_config.retention_period).toBe("336h");
    expect(parsed.compactor).toMatchObject({ retention_enabled: true, delete_request_store: "filesystem" });
    const longer = lokiConfig(model("prod", { ...stackConfig("prod"), logging: { retentionDays: 30 } }));
    expect((longer.limits_config as Raw).retention_period).toBe("720h");
  });

  it("config.alloy wires Docker logs and /var/log/jenkins-* into Loki with team / environment labels, without a Docker socket", () => {
    const alloy = files["alloy/vm1/config.alloy"];
    expect(Object.keys(files).filter((f) => f.startsWith("alloy/"))).toEqual(["alloy/vm1/config.alloy"]);
    // Every component referenced is declared.
    const declared = new Set([...alloy.matchAll(/^([a-z_.]+) "([a-z_]+)" \{/gm)].map((x) => `${x[1]}.${x[2]}`));
    const referenced = [...alloy.matchAll(/((?:loki|local)\.[a-z_.]+?)\.(receiver|targets)\b/g)].map((x) => x[1]);
    for (const ref of referenced) expect([ref, declared.has(ref)]).toEqual([ref, true]);
    expect([...declared].sort()).toEqual(
      ["local.file_match.docker_logs", "local.file_match.system_logs", "loki.process.docker_logs", "loki.process.system_logs", "loki.source.file.docker_logs", "loki.source.file.system_logs", "loki.write.default"].sort(),
    );
    // Braces balance.
    expect((alloy.match(/\{/g) ?? []).length).toBe((alloy.match(/\}/g) ?? []).length);
    expect(alloy).toContain('url = "http://127.0.0.1:3100/loki/api/v1/push"');
    expect(alloy).toContain('"__path__" = "/host/var/log/jenkins-*.log"');
    expect(alloy).toContain("values = { team = \"\", environment = \"\", role = \"\", stream = \"\" }");
    // The labels Alloy reads come from the containers' log-opts.
    expect(DOCKER_LOG_OPTS.labels.split(",")).toEqual(["jenkins-ha.team", "jenkins-ha.environment", "jenkins-ha.role"]);
    expect(alloy).not.toMatch(/docker\.sock|discovery\.docker|loki\.source\.docker/);
    // HAProxy backend names map back to teams.
    for (const team of m.teams) expect(alloy).toContain(`eq .backend \\"${team.backendName}\\" }}${team.name}`);
  });

  it("one Alloy config per platform host", () => {
    const multi = renderLoggingFiles(model("multi", generatedConfig(6, 3)));
    expect(Object.keys(multi).filter((f) => f.startsWith("alloy/")).sort()).toEqual(["alloy/vm1/config.alloy", "alloy/vm2/config.alloy", "alloy/vm3/config.alloy"]);
  });
});
