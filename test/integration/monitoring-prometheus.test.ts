import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { loadPlatformModel } from "../../config/load";
import { PlatformModel } from "../../config/model";
import { RECORDING } from "../../render/alert-rules";
import { renderHaproxyConfig } from "../../render/haproxy";
import { HAPROXY_METRICS, JENKINS_METRICS } from "../../render/metrics-contract";
import { renderMonitoringStackFiles } from "../../render/monitoring";
import { cryptHash, HaproxyProcess } from "../support/haproxy";
import { httpGet } from "../support/standin-jenkins";
import { freePort, freePortPair, requireTool, waitFor } from "../support/tools";

/**
 * A stand-in for a Jenkins controller's Prometheus plugin (not Jenkins): `/prometheus/`
 * serves the metrics of the contract, `/prometheus` redirects there like Jenkins does, and
 * `/login` answers 200 for HAProxy's health check.
 */
class StandInJenkinsMetrics {
  private server?: http.Server;
  scrapes = 0;
  constructor(
    readonly colour: string,
    readonly port: number,
  ) {}

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      if (req.url === "/prometheus") {
        res.writeHead(302, { location: "/prometheus/" });
        res.end();
        return;
      }
      if (req.url === "/prometheus/") {
        this.scrapes++;
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
        res.end(JENKINS_METRICS.map((name) => `# TYPE ${name} gauge\n${name} ${name === "vm_memory_heap_usage" ? 0.42 : 1}\n`).join(""));
        return;
      }
      res.writeHead(200, { "content-type": "text/plain", "x-stand-in": "jenkins" });
      res.end(`${this.colour}\n`);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

interface TargetInfo {
  labels: Record<string, string>;
  scrapeUrl: string;
  health: string;
  lastError: string;
}

async function api<T>(base: string, pathAndQuery: string): Promise<T> {
  const res = await httpGet(`${base}${pathAndQuery}`);
  if (res.status !== 200) throw new Error(`${pathAndQuery}: HTTP ${res.status} ${res.body}`);
  return (JSON.parse(res.body) as { data: T }).data;
}

describe("a real prometheus with the rendered config", () => {
  const prometheusBin = requireTool("prometheus");
  requireTool("haproxy");
  let dir: string;
  let model: PlatformModel;
  let prometheus: ChildProcess | undefined;
  let prometheusLog = "";
  let haproxy: HaproxyProcess | undefined;
  const standIns: StandInJenkinsMetrics[] = [];
  let base = "";

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-prometheus-"));
    const [alphaWeb, betaWeb] = [await freePortPair(), await freePortPair()];
    const ports = {
      stats: await freePort(),
      alphaPublic: await freePort(),
      betaPublic: await freePort(),
      prometheus: await freePort(),
      alertmanager: await freePort(),
      nodeExporter: await freePort(),
      healer: await freePort(),
    };
    // Real config keys, ports chosen free: no rewriting of the rendered files needed.
    model = loadPlatformModel("itest", {
      hosts: { vm1: "unix:///var/run/docker.sock" },
      platform: { haproxy: { host: "vm1", statsPort: ports.stats, checkIntervalSeconds: 1 }, resourceOptimised: true },
      teams: {
        // alpha is staging a switch: both colours run and are scraped.
        alpha: { activeEnvironment: "blue", webPort: alphaWeb, agentPort: alphaWeb + 1, publicPort: ports.alphaPublic, host: "vm1", standbyRunning: true },
        beta: { activeEnvironment: "green", webPort: betaWeb, agentPort: betaWeb + 1, publicPort: ports.betaPublic, host: "vm1" },
      },
      monitoring: {
        scrapeIntervalSeconds: 1,
        evaluationIntervalSeconds: 1,
        ports: { prometheus: ports.prometheus, alertmanager: ports.alertmanager, nodeExporter: ports.nodeExporter },
      },
      healing: { port: ports.healer },
    });
    for (const team of model.teams) {
      for (const colour of ["blue", "green"] as const) {
        const c = team.colours[colour];
        if (c.running) standIns.push(await new StandInJenkinsMetrics(`${team.name}-${colour}`, c.webPort).start());
      }
    }

    const haproxyDir = path.join(dir, "haproxy");
    fs.mkdirSync(haproxyDir);
    const haproxyCfg = path.join(haproxyDir, "haproxy.cfg");
    fs.writeFileSync(haproxyCfg, renderHaproxyConfig(model, { statsPasswordHash: cryptHash("stats-test"), runtimeDir: haproxyDir }));
    haproxy = await new HaproxyProcess(haproxyCfg, haproxyDir).start();

    for (const [file, text] of Object.entries(renderMonitoringStackFiles(model))) {
      const target = path.join(dir, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, text);
    }
    fs.mkdirSync(path.join(dir, "tsdb"));
    prometheus = spawn(
      prometheusBin,
      [
        `--config.file=${path.join(dir, "prometheus/prometheus.yml")}`,
        `--storage.tsdb.path=${path.join(dir, "tsdb")}`,
        "--storage.tsdb.retention.time=1h",
        `--web.listen-address=127.0.0.1:${ports.prometheus}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    prometheus.stdout?.on("data", (d: Buffer) => (prometheusLog += d.toString()));
    prometheus.stderr?.on("data", (d: Buffer) => (prometheusLog += d.toString()));
    base = `http://127.0.0.1:${ports.prometheus}`;
    await waitFor("prometheus ready", async () => (await httpGet(`${base}/-/ready`)).status === 200, 30000, 200);
  }, 60000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const child = prometheus;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      });
    }
    await haproxy?.stop();
    for (const s of standIns) await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("scrapes every running colour on /prometheus/ with team / environment / role / host labels, all up", async () => {
    const jenkins = await waitFor(
      "jenkins targets up",
      async () => {
        const data = await api<{ activeTargets: TargetInfo[] }>(base, "/api/v1/targets?state=active");
        const targets = data.activeTargets.filter((t) => t.labels.job === "jenkins");
        return targets.length === 3 && targets.every((t) => t.health === "up") ? targets : undefined;
      },
      30000,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nprometheus log:\n${prometheusLog.slice(-3000)}`);
    });
    const byTarget = Object.fromEntries(jenkins.map((t) => [t.labels.instance, t]));
    const alpha = model.teams.find((t) => t.name === "alpha")!;
    const beta = model.teams.find((t) => t.name === "beta")!;
    expect(byTarget[`127.0.0.1:${alpha.colours.blue.webPort}`].labels).toMatchObject({ team: "alpha", environment: "blue", role: "active", host: "vm1" });
    expect(byTarget[`127.0.0.1:${alpha.colours.green.webPort}`].labels).toMatchObject({ team: "alpha", environment: "green", role: "standby", host: "vm1" });
    expect(byTarget[`127.0.0.1:${beta.colours.green.webPort}`].labels).toMatchObject({ team: "beta", environment: "green", role: "active", host: "vm1" });
    // Resource-optimised: beta's stopped standby is not a target at all (never "down").
    expect(byTarget[`127.0.0.1:${beta.colours.blue.webPort}`]).toBeUndefined();
    for (const t of jenkins) expect(new URL(t.scrapeUrl).pathname).toBe("/prometheus/");
    expect(Math.min(...standIns.map((s) => s.scrapes))).toBeGreaterThan(0);
  });

  it("scrapes the real HAProxy exporter and maps backends to teams and servers to colours", async () => {
    const up = await waitFor(
      "haproxy target up",
      async () => {
        const data = await api<{ activeTargets: TargetInfo[] }>(base, "/api/v1/targets?state=active");
        const t = data.activeTargets.find((x) => x.labels.job === "haproxy");
        return t?.health === "up" ? t : undefined;
      },
      30000,
      250,
    );
    expect(up.labels).toMatchObject({ host: "vm1" });
    const series = await waitFor("haproxy series with team labels", async () => {
      const r = await api<{ result: Array<{ metric: Record<string, string> }> }>(base, `/api/v1/query?query=${encodeURIComponent("haproxy_server_weight")}`);
      return r.result.length >= 4 ? r.result : undefined;
    });
    const servers = series.map((s) => `${s.metric.team}/${s.metric.environment}/${s.metric.proxy}`).sort();
    expect(servers).toEqual(["alpha/blue/jenkins_alpha", "alpha/green/jenkins_alpha", "beta/blue/jenkins_beta", "beta/green/jenkins_beta"]);
    // Every HAProxy metric the rules and dashboards use exists in the real exporter's output.
    const names = await api<string[]>(base, "/api/v1/label/__name__/values");
    for (const metric of HAPROXY_METRICS) expect([metric, names.includes(metric)]).toEqual([metric, true]);
    for (const metric of JENKINS_METRICS) expect([metric, names.includes(metric)]).toEqual([metric, true]);
  });

  it("records the SLIs from real traffic through HAProxy, and the active colour per team", async () => {
    const alpha = model.teams.find((t) => t.name === "alpha")!;
    for (let i = 0; i < 30; i++) expect((await httpGet(alpha.publicUrl)).status).toBe(200);
    const query = async (expr: string) => (await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(base, `/api/v1/query?query=${encodeURIComponent(expr)}`)).result;
    const requests = await waitFor(
      "request rate recorded",
      async () => {
        const r = await query(`${RECORDING.requests}{team="alpha"} > 0`);
        return r.length === 1 ? r : undefined;
      },
      20000,
      250,
    );
    expect(requests[0].metric).toEqual({ __name__: RECORDING.requests, team: "alpha" });
    const availability = await waitFor("availability recorded", async () => {
      const r = await query(`${RECORDING.availability}{team="alpha"}`);
      return r.length === 1 ? r : undefined;
    });
    expect(Number(availability[0].value[1])).toBe(1);
    const errorRate = await query(`${RECORDING.errorRate}{team="alpha"}`);
    expect(errorRate.map((r) => Number(r.value[1]))).toEqual([0]);
    const active = await waitFor("active colour recorded", async () => {
      const r = await query(RECORDING.activeUp);
      return r.length === 2 ? r : undefined;
    });
    expect(active.map((r) => `${r.metric.team}:${r.metric.environment}`).sort()).toEqual(["alpha:blue", "beta:green"]);
    // beta had no request: its ratios are absent ("no data"), never a made-up 100 %.
    expect(await query(`${RECORDING.availability}{team="beta"}`)).toEqual([]);
  });

  it("loaded every rendered rule group", async () => {
    const groups = await api<{ groups: Array<{ name: string; rules: Array<{ health: string; lastError?: string }> }> }>(base, "/api/v1/rules");
    expect(groups.groups.map((g) => g.name).sort()).toEqual(["jenkins-ha-platform", "jenkins-ha-sli", "jenkins-team-alpha", "jenkins-team-beta"]);
    await waitFor("rules evaluated without error", async () => {
      const g = await api<{ groups: Array<{ rules: Array<{ health: string }> }> }>(base, "/api/v1/rules");
      return g.groups.every((x) => x.rules.every((r) => r.health === "ok"));
    });
  });
});
