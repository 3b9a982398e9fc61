import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { Database } from "../../automation/coordination/db";
import { readStackFile } from "../../config/load";
import { HealService, startHealService } from "../../automation/heal/service";
import { UnwiredSwitchRequester } from "../../automation/heal/switch-requester";
import { FAST_HEALING, TEST_INTERVAL_MS, collectingLog, rigConfig, rigModel, writeStackFile } from "../support/heal-rig";
import { StandInContainer, uniqueTeam } from "../support/heal-standin";
import { TestPostgres, startTestPostgres } from "../support/postgres";
import { SwitchRequestQueue } from "../../automation/coordination/switch-requests";
import { httpGet } from "../support/standin-jenkins";
import { freePort, freePortPair, waitFor } from "../support/tools";

const execFileAsync = promisify(execFile);
const CLI = path.join(__dirname, "..", "..", "bin", "jenkins-ha.js");

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync("node", [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** `jenkins-ha heal pause|resume|status|run` on a real PostgreSQL, with a healer acting on a real container. */
describe("heal CLI (real PostgreSQL, real Docker)", () => {
  let pg: TestPostgres;
  let owner: Database;
  let healerDb: Database;
  let dir: string;
  let stackFile: string;
  let blue: StandInContainer;
  let service: HealService | undefined;
  const team = uniqueTeam("heal-cli");

  beforeAll(async () => {
    pg = await startTestPostgres();
    owner = new Database(pg.url);
    healerDb = new Database(pg.roleUrl("healer"));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-heal-cli-"));
    const webPort = await freePortPair();
    blue = await StandInContainer.start(`jenkins-${team}-blue`, webPort);
    stackFile = writeStackFile(dir, await rigConfig(dir, [{ name: team, webPort, healing: FAST_HEALING }]));
  });

  afterAll(async () => {
    await service?.stop();
    await blue?.remove();
    await healerDb?.close();
    await owner?.close();
    await pg?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const heal = (...args: string[]) => cli(["--database-url", pg.url, "heal", ...args]);

  it("pause stops the healer acting (decisions go on), resume lets it act again; both audited", async () => {
    const paused = await heal("pause", "--team", team, "--reason", "planned maintenance", "--actor", "oncall@test");
    expect(paused).toMatchObject({ code: 0 });
    expect(paused.stdout).toMatch(/healing paused/);

    const model = rigModel(readStackFile(stackFile));
    service = await startHealService({
      model,
      db: healerDb,
      switcher: new UnwiredSwitchRequester(),
      log: collectingLog().log,
      intervalMs: TEST_INTERVAL_MS,
      haproxySocket: path.join(dir, "none.sock"),
      probeTimeoutMs: 1000,
      stopTimeoutSeconds: 1,
    });
    const startedAt = await blue.startedAt();
    await blue.breakUntilRestart();
    await waitFor("paused decisions", async () => (service!.healer.status.get(team)?.consecutiveFailures ?? 0) >= 5, 15000);
    expect(service.healer.status.get(team)).toMatchObject({ paused: true, healthy: false });
    expect(service.healer.status.get(team)?.lastDecision).toMatch(/paused by on-call/);
    // Paused or not, every check records the active colour's verdict (on the healer's role).
    const state = await owner.query<{ environment: string; healthy: boolean; evidence: string[] }>("SELECT environment, healthy, evidence FROM environment_state WHERE team = $1", [team]);
    expect(state).toEqual([{ environment: "blue", healthy: false, evidence: expect.arrayContaining([expect.stringMatching(/^http: \/login failed/)]) }]);
    expect(await blue.startedAt()).toBe(startedAt);

    const status = await heal("status", "--json", "--stack", "heal-test", "--stack-file", stackFile);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).teams).toEqual([
      expect.objectContaining({ team, mode: "on", paused: true, needsHuman: false, flagReason: "planned maintenance", flagBy: "oncall@test", lastAction: null, health: expect.objectContaining({ environment: "blue", healthy: false }), openSwitchRequest: null }),
    ]);

    const resumed = await heal("resume", "--team", team, "--reason", "maintenance over", "--actor", "oncall@test");
    expect(resumed.code).toBe(0);
    await waitFor("restart after resume", async () => (await owner.query("SELECT 1 FROM deployment_audit WHERE team = $1 AND operation = 'heal:restart_container' AND outcome = 'done'", [team])).length > 0, 15000, 100);
    await blue.waitServing();
    await service.stop();
    service = undefined;

    const overrides = await owner.query<{ actor: string; reason: string; metadata: { kind: string } }>("SELECT actor, reason, metadata FROM deployment_audit WHERE team = $1 AND operation = 'override' ORDER BY id", [team]);
    expect(overrides.map((o) => [o.actor, o.reason, o.metadata.kind])).toEqual([
      ["oncall@test", "planned maintenance", "heal_pause"],
      ["oncall@test", "maintenance over", "heal_resume"],
    ]);
    // A switch the healer asked for and no worker has claimed yet shows too.
    const queued = await new SwitchRequestQueue(healerDb).submit({ stack: "heal-test", team, to: "green", reason: "auto-heal: test", requestedBy: "healer:it", claimWithinSeconds: 300 });
    const text = await heal("status", "--stack", "heal-test", "--stack-file", stackFile);
    expect(text.stdout).toMatch(new RegExp(`${team}\\s+mode on\\s+active\\s+last: heal:restart_container done at \\S+  blue (healthy|UNHEALTHY) at \\S+  switch request #${queued.id} to green pending \\(waiting for a worker\\)`));
    await new SwitchRequestQueue(healerDb).void(queued.id, "test over");
  });

  it("resume clears needs-human after an escalation; a bad team name is refused with the fix", async () => {
    await owner.query("INSERT INTO heal_flags (team, needs_human, reason, updated_by) VALUES ($1, true, 'escalated', 'healer:x') ON CONFLICT (team) DO UPDATE SET needs_human = true", [team]);
    expect((await heal("resume", "--team", team, "--reason", "fixed the disk")).code).toBe(0);
    const flags = await owner.query<{ paused: boolean; needs_human: boolean }>("SELECT paused, needs_human FROM heal_flags WHERE team = $1", [team]);
    expect(flags[0]).toEqual({ paused: false, needs_human: false });
    const bad = await heal("pause", "--team", "Bad_Name", "--reason", "x");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a valid team name/);
  });

  it("heal run --once reads the DB URL from JENKINS_HA_DATABASE_URL_FILE and reports each team", async () => {
    const urlFile = path.join(dir, "db-url");
    fs.writeFileSync(urlFile, `${pg.roleUrl("healer")}\n`, { mode: 0o600 });
    await owner.query("DELETE FROM environment_state WHERE team = $1", [team]); // the row must come from this round
    const res = await cli(["--json", "heal", "run", "--once", "--stack", "heal-test", "--stack-file", stackFile, "--haproxy-socket", path.join(dir, "none.sock")], { JENKINS_HA_DATABASE_URL_FILE: urlFile });
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout.trim().split("\n").pop()!);
    expect(out).toMatchObject({ coordinationUp: true, teams: [expect.objectContaining({ team, healthy: true, effectiveMode: "on" })] });
    expect(await owner.query("SELECT environment, healthy FROM environment_state WHERE team = $1", [team])).toEqual([{ environment: "blue", healthy: true }]);
  });

  it("heal run serves /healthz, /metrics and the Alertmanager webhook, and stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    const child = spawn("node", [CLI, "--database-url", pg.roleUrl("healer"), "heal", "run", "--stack", "heal-test", "--stack-file", stackFile, "--interval-seconds", "0.5", "--listen", `127.0.0.1:${port}`, "--haproxy-socket", path.join(dir, "none.sock")], { stdio: ["ignore", "pipe", "pipe"] });
    let logs = "";
    child.stdout.on("data", (d: Buffer) => (logs += d.toString()));
    child.stderr.on("data", (d: Buffer) => (logs += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      await waitFor("healer /healthz", async () => (await httpGet(`http://127.0.0.1:${port}/healthz`, 1000)).status === 200, 30000, 200);
      const notification = {
        version: "4",
        status: "firing",
        receiver: "team",
        alerts: [{ status: "firing", labels: { alertname: "JenkinsHealthCheckFailing", team, environment: "blue" }, annotations: {}, startsAt: new Date().toISOString() }],
      };
      const posted = await fetch(`http://127.0.0.1:${port}/alertmanager`, { method: "POST", body: JSON.stringify(notification), headers: { "content-type": "application/json" } });
      expect(posted.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/alerts`, { method: "POST", body: "{}" })).status).toBe(400);
      await waitFor("alert in the evidence", async () => (await httpGet(`http://127.0.0.1:${port}/metrics`)).body.includes(`jenkins_ha_heal_team_healthy{team="${team}"} 0`), 10000, 200);
      const metrics = (await httpGet(`http://127.0.0.1:${port}/metrics`)).body;
      expect(metrics).toContain("jenkins_ha_heal_alert_notifications_total 1");
      expect(metrics).toContain("jenkins_ha_heal_coordination_up 1");
      // Structured JSON logs for Loki.
      const lines = logs.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toEqual(expect.arrayContaining([expect.objectContaining({ service: "jenkins-ha-healer", msg: "healer started" })]));
    } finally {
      child.kill("SIGTERM");
    }
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("timeout"), 15000))]);
    expect(code).toBe(0);
    expect(logs).toMatch(/SIGTERM: stopping/);
    expect(logs).toMatch(/healer stopped/);
  });
});
