import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { budgetLimitsFrom } from "../../automation/coordination/budget";
import { Database } from "../../automation/coordination/db";
import { PgCoordination } from "../../automation/coordination/store";
import { HealService, startHealService } from "../../automation/heal/service";
import { HaproxyTraffic } from "../../automation/traffic/haproxy-traffic";
import { PlatformModel } from "../../config/model";
import { renderHaproxyConfig } from "../../render/haproxy";
import { HaproxyProcess, cryptHash } from "../support/haproxy";
import { FAST_HEALING, TEST_INTERVAL_MS, collectingLog, rigConfig, rigModel } from "../support/heal-rig";
import { StandInContainer, uniqueTeam } from "../support/heal-standin";
import { StandInSwitcher } from "../support/heal-switcher";
import { WebhookReceiver } from "../support/heal-webhook";
import { TestPostgres, startTestPostgres } from "../support/postgres";
import { httpGet } from "../support/standin-jenkins";
import { freePortPair, waitFor } from "../support/tools";

interface Row extends Record<string, unknown> {
  operation: string;
  outcome: string;
  reason: string;
}

/**
 * Rungs 2 and 3 of the ladder on real Docker, PostgreSQL and HAProxy: a colour that a
 * restart does not heal is switched away from (through StandInSwitcher, a test stand-in
 * for the orchestrator that moves HAProxy weights for real), and a switch the budget
 * refuses escalates to a webhook and stops the healer acting on that team.
 */
describe("healer: switch, then escalate (real Docker, PostgreSQL, HAProxy)", () => {
  let pg: TestPostgres;
  let owner: Database;
  let dir: string;
  let haproxy: HaproxyProcess;
  let receiver: WebhookReceiver;
  let model: PlatformModel;
  let service: HealService;
  let switcher: StandInSwitcher;
  let healerDb: Database;
  const containers: StandInContainer[] = [];
  const switching = uniqueTeam("heal-sw");
  const budgeted = uniqueTeam("heal-bud");

  beforeAll(async () => {
    pg = await startTestPostgres();
    owner = new Database(pg.url);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-heal-sw-"));
    receiver = await new WebhookReceiver().start();
    const ports: Record<string, number> = {};
    for (const team of [switching, budgeted]) {
      ports[team] = await freePortPair();
      containers.push(await StandInContainer.start(`jenkins-${team}-blue`, ports[team]));
      containers.push(await StandInContainer.start(`jenkins-${team}-green`, ports[team] + 100));
    }
    const raw = await rigConfig(dir, [switching, budgeted].map((name) => ({ name, webPort: ports[name], healing: FAST_HEALING, staged: true })), { escalationWebhookUrl: receiver.url() });
    model = rigModel(raw);
    fs.writeFileSync(path.join(dir, "haproxy.cfg"), renderHaproxyConfig(model, { statsPasswordHash: cryptHash("stats-pw"), runtimeDir: dir }));
    haproxy = await new HaproxyProcess(path.join(dir, "haproxy.cfg"), dir).start();

    // The budget team already switched twice in the last hour (seed budget: 2/h, 30 min cooldown).
    const orchestratorSide = new PgCoordination(owner, budgetLimitsFrom(model.config.switch));
    for (const minutesAgo of [50, 10]) {
      const at = new Date(Date.now() - minutesAgo * 60_000);
      await orchestratorSide.audit({ operation: "switch", team: budgeted, actor: "earlier", reason: "earlier switch", from: "green", to: "blue", outcome: "completed", startedAt: at, finishedAt: at, metadata: {} });
    }
    switcher = new StandInSwitcher(orchestratorSide, new HaproxyTraffic(haproxy.runtime), (team) => model.teams.find((t) => t.name === team)!.backendName);
    healerDb = new Database(pg.roleUrl("healer"));
    for (const team of model.teams) {
      await waitFor(`${team.name} served by blue through HAProxy`, async () => (await httpGet(`${team.publicUrl}/`, 1000)).headers["x-jenkins-environment"] === "blue", 15000, 200);
    }
    service = await startHealService({
      model,
      db: healerDb,
      switcher,
      log: collectingLog().log,
      intervalMs: TEST_INTERVAL_MS,
      haproxySocket: path.join(dir, "admin.sock"),
      probeTimeoutMs: 1000,
      stopTimeoutSeconds: 1,
    });
  });

  afterAll(async () => {
    await service?.stop();
    await haproxy?.stop();
    await receiver?.stop();
    await Promise.all(containers.map((c) => c.remove()));
    await healerDb?.close();
    await owner?.close();
    await pg?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const rows = (team: string) => owner.query<Row>("SELECT operation, outcome, reason FROM deployment_audit WHERE team = $1 ORDER BY id", [team]);
  const container = (team: string, colour: string) => containers.find((c) => c.name === `jenkins-${team}-${colour}`)!;

  it("restart does not help -> switches colour; traffic ends on the healthy colour (through HAProxy)", async () => {
    const teamModel = model.teams.find((t) => t.name === switching)!;
    await container(switching, "blue").breakForGood();
    await waitFor("switch completed", async () => (await rows(switching)).some((r) => r.operation === "switch" && r.outcome === "completed"), 40000, 200);
    const trail = (await rows(switching)).filter((r) => r.outcome !== "monitor_only").map((r) => `${r.operation}:${r.outcome}`);
    expect(trail).toEqual(["heal:restart_container:done", "switch:completed", "heal:switch_environment:done"]);
    expect(switcher.calls.filter((c) => c.team === switching)).toEqual([expect.objectContaining({ to: "green", outcome: "completed", reason: expect.stringMatching(/^auto-heal: /) })]);

    // Every request through HAProxy now lands on green.
    for (let i = 0; i < 10; i++) {
      const res = await httpGet(`${teamModel.publicUrl}/login`, 2000);
      expect(res.status).toBe(200);
      expect(res.headers["x-jenkins-environment"]).toBe("green");
    }
    // The healer now watches green (placement from the coordination DB) and finds it healthy.
    await waitFor("healer sees green healthy", async () => service.healer.status.get(switching)?.healthy === true, 10000);
    expect(service.healer.status.get(switching)?.lastEvidence.join(" ")).toMatch(/haproxy: server UP/);
    expect(receiver.received.filter((r) => JSON.stringify(r.body).includes(switching))).toEqual([]);
  });

  it("switch budget exhausted -> escalation to the webhook, team needs a human, no further action", async () => {
    await container(budgeted, "blue").breakForGood();
    await waitFor("escalation received", async () => receiver.received.some((r) => JSON.stringify(r.body).includes(budgeted)), 40000, 200);
    const escalation = receiver.received.find((r) => JSON.stringify(r.body).includes(budgeted))!;
    expect(escalation.body).toMatchObject({ kind: "jenkins-ha.heal.escalation", team: budgeted, reason: expect.stringMatching(/budget/) });
    const flags = await owner.query<{ needs_human: boolean }>("SELECT needs_human FROM heal_flags WHERE team = $1", [budgeted]);
    expect(flags[0].needs_human).toBe(true);

    const before = await rows(budgeted);
    const startedAt = await container(budgeted, "blue").startedAt();
    // Several recovery waits later: nothing more was done to the team.
    await new Promise((r) => setTimeout(r, 7000));
    const after = await rows(budgeted);
    expect(after).toEqual(before);
    expect(after.filter((r) => r.operation !== "switch" || r.reason !== "earlier switch").map((r) => `${r.operation}:${r.outcome}`)).toEqual([
      "heal:restart_container:done",
      "switch:refused",
      "heal:switch_environment:failed",
      "heal:escalate_human:done",
    ]);
    expect(await container(budgeted, "blue").startedAt()).toBe(startedAt);
    expect(receiver.received.filter((r) => JSON.stringify(r.body).includes(budgeted))).toHaveLength(1);
    expect(service.healer.status.get(budgeted)).toMatchObject({ needsHuman: true, healthy: false });
    expect(service.healer.status.get(budgeted)?.lastDecision).toMatch(/waiting for a human/);
  });
});
