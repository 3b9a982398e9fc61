import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Database } from "../../automation/coordination/db";
import { HealService, startHealService } from "../../automation/heal/service";
import { UnwiredSwitchRequester } from "../../automation/heal/switch-requester";
import { FAST_HEALING, TEST_INTERVAL_MS, collectingLog, rigConfig, rigModel } from "../support/heal-rig";
import { StandInContainer, uniqueTeam } from "../support/heal-standin";
import { TestPostgres, startTestPostgres } from "../support/postgres";
import { httpGet } from "../support/standin-jenkins";
import { freePort, freePortPair, waitFor } from "../support/tools";

interface HealRow extends Record<string, unknown> {
  operation: string;
  outcome: string;
  reason: string;
  actor: string;
}

/**
 * The healer on a real Docker engine (stand-in Jenkins containers from the local busybox
 * image) and a real PostgreSQL, with the interval shortened to 300 ms and the seed's
 * threshold of 3. HAProxy is not running here: that source is left out (and logged).
 */
describe("healer on real Docker + PostgreSQL", () => {
  let pg: TestPostgres;
  let owner: Database;
  let dir: string;
  const containers: StandInContainer[] = [];
  const services: HealService[] = [];
  const dbs: Database[] = [];

  beforeAll(async () => {
    pg = await startTestPostgres();
    owner = new Database(pg.url);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-heal-"));
  });
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
    await Promise.all(containers.splice(0).map((c) => c.remove()));
    await Promise.all(dbs.splice(0).map((d) => d.close()));
  });
  afterAll(async () => {
    await owner?.close();
    await pg?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const healRows = (team: string) =>
    owner.query<HealRow>("SELECT operation, outcome, reason, actor FROM deployment_audit WHERE team = $1 AND operation LIKE 'heal:%' ORDER BY id", [team]);

  /** A team with a running blue stand-in container and its platform model. */
  async function team(prefix: string, healing = FAST_HEALING) {
    const name = uniqueTeam(prefix);
    const webPort = await freePortPair();
    const blue = await StandInContainer.start(`jenkins-${name}-blue`, webPort);
    containers.push(blue);
    const model = rigModel(await rigConfig(dir, [{ name, webPort, healing }]));
    return { name, blue, model };
  }

  async function healer(model: ReturnType<typeof rigModel>, options: { dbUrl?: string; listen?: boolean } = {}) {
    const db = new Database(options.dbUrl ?? pg.roleUrl("healer"), { connectTimeoutMs: 1000 });
    dbs.push(db);
    const { log, events } = collectingLog();
    const service = await startHealService({
      model,
      db,
      switcher: new UnwiredSwitchRequester(),
      log,
      intervalMs: TEST_INTERVAL_MS,
      haproxySocket: path.join(dir, "no-haproxy-here.sock"),
      probeTimeoutMs: 1000,
      stopTimeoutSeconds: 1,
      listen: options.listen ? { host: "127.0.0.1", port: await freePort() } : undefined,
    });
    services.push(service);
    return { service, events };
  }

  it("restarts a failing container after exactly `threshold` failures; it recovers; the restart is audited and counted", async () => {
    const t = await team("heal");
    const { service } = await healer(t.model, { listen: true });
    await waitFor("first healthy check", async () => service.healer.status.get(t.name)?.healthy === true, 10000);
    const before = await t.blue.startedAt();

    await t.blue.breakUntilRestart();
    const rows = await waitFor("restart audited", async () => {
      const r = await healRows(t.name);
      return r.some((x) => x.operation === "heal:restart_container" && x.outcome === "done") && r;
    }, 20000, 100);
    const restart = rows.find((x) => x.operation === "heal:restart_container")!;
    expect(restart.reason).toMatch(/^3 consecutive failures \(threshold 3\): rung 1 of 3/);
    expect(restart.actor).toMatch(/^healer:/);
    expect(await t.blue.startedAt()).not.toBe(before);

    // It recovers by itself (the entrypoint recreates /login) and the ladder resets.
    await t.blue.waitServing();
    await waitFor("healer sees it healthy again", async () => service.healer.status.get(t.name)?.healthy === true, 10000);
    expect(service.healer.status.get(t.name)?.consecutiveFailures).toBe(0);
    expect((await healRows(t.name)).filter((r) => r.outcome === "done").map((r) => r.operation)).toEqual(["heal:restart_container"]);

    const metrics = (await httpGet(`http://127.0.0.1:${service.port}/metrics`)).body;
    expect(metrics).toContain(`jenkins_ha_heal_actions_total{team="${t.name}",action="restart_container"} 1`);
    expect(metrics).toContain(`jenkins_ha_heal_actions_total{team="${t.name}",action="switch_environment"} 0`);
    expect(metrics).toContain(`jenkins_ha_heal_mode{team="${t.name}",mode="on",configured="on"} 1`);
    expect(metrics).toContain("jenkins_ha_heal_coordination_up 1");
    expect((await httpGet(`http://127.0.0.1:${service.port}/healthz`)).status).toBe(200);
  });

  it("monitor mode: the same failure gives audited decisions and no action", async () => {
    const t = await team("heal-mon", { ...FAST_HEALING, mode: "monitor" });
    const { service } = await healer(t.model);
    await waitFor("first healthy check", async () => service.healer.status.get(t.name)?.healthy === true, 10000);
    const before = await t.blue.startedAt();
    await t.blue.breakUntilRestart();
    const rows = await waitFor("monitor-only decision audited", async () => {
      const r = await healRows(t.name);
      return r.some((x) => x.operation === "heal:restart_container") && r;
    }, 20000, 100);
    expect(rows[0]).toMatchObject({ operation: "heal:restart_container", outcome: "monitor_only" });
    // Well past the recovery wait: still nothing done, the container was never restarted.
    await new Promise((r) => setTimeout(r, 4000));
    const all = await healRows(t.name);
    expect(all.length).toBeGreaterThanOrEqual(2); // restart, then switch: both only recorded
    expect(all.every((r) => r.outcome === "monitor_only")).toBe(true);
    expect(await t.blue.startedAt()).toBe(before);
    expect((await httpGet(`${t.blue.url}/login`)).status).toBe(404);
    expect([...service.healer.counters.actions.values()].reduce((a, b) => a + b, 0)).toBe(0);
  });

  it("two healers (separate DB pools) on one team: one restart, not two", async () => {
    const t = await team("heal-two");
    const a = await healer(t.model);
    const b = await healer(t.model);
    await waitFor("both see it healthy", async () => a.service.healer.status.get(t.name)?.healthy === true && b.service.healer.status.get(t.name)?.healthy === true, 10000);
    await t.blue.breakUntilRestart();
    await waitFor("restart audited", async () => (await healRows(t.name)).some((x) => x.outcome === "done"), 20000, 100);
    await t.blue.waitServing();
    // Past the recovery wait of both healers: neither did anything more.
    await new Promise((r) => setTimeout(r, 4000));
    const done = (await healRows(t.name)).filter((r) => r.outcome === "done");
    expect(done.map((r) => r.operation)).toEqual(["heal:restart_container"]);
    const actions = (s: HealService) => [...s.healer.counters.actions.values()].reduce((x, y) => x + y, 0);
    expect(actions(a.service) + actions(b.service)).toBe(1);
  });

  it("coordination DB unreachable: monitor mode, said in logs and metrics, no action without a lock", async () => {
    const t = await team("heal-nodb");
    const closed = await freePort();
    const { service, events } = await healer(t.model, { dbUrl: `postgres://healer@127.0.0.1:${closed}/jenkins_coordination`, listen: true });
    await waitFor("first check", async () => service.healer.status.get(t.name)?.healthy === true, 10000);
    const before = await t.blue.startedAt();
    await t.blue.breakUntilRestart();
    await waitFor("a would-restart decision", async () => (service.healer.counters.decisions.get(`${t.name}\u0000restart_container`) ?? 0) > 0, 20000, 100);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await t.blue.startedAt()).toBe(before);
    expect(service.healer.status.get(t.name)).toMatchObject({ configuredMode: "on", effectiveMode: "monitor" });
    expect(events.some((e) => e.level === "error" && String(e.msg).includes("coordination database unreachable"))).toBe(true);
    const metrics = (await httpGet(`http://127.0.0.1:${service.port}/metrics`)).body;
    expect(metrics).toContain("jenkins_ha_heal_coordination_up 0");
    expect(metrics).toContain(`jenkins_ha_heal_mode{team="${t.name}",mode="monitor",configured="on"} 1`);
    expect([...service.healer.counters.actions.values()].reduce((a, b) => a + b, 0)).toBe(0);
  });
});
