import { Database } from "../../automation/coordination/db";
import { HealService, startHealService } from "../../automation/heal/service";
import { OrchestratorSwitchRequester } from "../../automation/heal/switch-requester";
import { FAST_HEALING, TEST_INTERVAL_MS, collectingLog } from "../support/heal-rig";
import { StandInRestarts } from "../support/standin-restarts";
import { SwitchHarness, spendSwitchBudget, startSwitchHarness } from "../support/switch-harness";
import { waitFor } from "../support/tools";

interface Row extends Record<string, unknown> {
  operation: string;
  outcome: string;
  actor: string;
  reason: string;
  from_environment: string | null;
  to_environment: string | null;
  metadata: Record<string, unknown>;
}

const HEALER_ID = "it-healer";
const ACTOR = `healer:${HEALER_ID}`;

/**
 * The healer's rung 2 through the REAL switch orchestrator (lease, budget, backup + sync,
 * staged config, preview and up with the real policy pack, progressive shift with SLI
 * gates, commit, audit), connected to PostgreSQL as the `healer` role like `heal run` in
 * the Healer container. Real PostgreSQL and HAProxy; the backends are stand-in Jenkins
 * (in-process HTTP servers), the Pulumi seam is TestDoubleStackOperations (the real
 * program offline), and container restarts go to StandInRestarts (a test stand-in that
 * restarts the in-process backend, which keeps failing: a restart that does not help).
 */
describe("healer switches colour through the real orchestrator as the healer DB role", () => {
  let h: SwitchHarness;
  let healerDb: Database;
  let service: HealService;
  let restarts: StandInRestarts;
  const log = collectingLog();

  beforeAll(async () => {
    h = await startSwitchHarness(["mend", "spent"], { holdSeconds: 1, teamConfig: { healing: FAST_HEALING } });
    await spendSwitchBudget(h, "spent"); // "spent" already switched twice within the hour
    healerDb = new Database(h.pg.roleUrl("healer"));
    // As `heal run` wires it: one healer-role connection for the healer and its orchestrator.
    const switcher = new OrchestratorSwitchRequester(h.orchestrator({ database: healerDb }), ACTOR);
    restarts = new StandInRestarts((team, colour) => h.backends.get(`${team}/${colour}`));
    service = await startHealService({
      model: h.model,
      db: healerDb,
      switcher,
      log: log.log,
      intervalMs: TEST_INTERVAL_MS,
      probeTimeoutMs: 1000,
      healerId: HEALER_ID,
      containers: () => restarts,
    });
    await waitFor("healer sees both teams healthy", async () => ["mend", "spent"].every((t) => service.healer.status.get(t)?.healthy === true), 15000);
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
    await healerDb?.close();
    await h?.stop();
  });

  const rows = (team: string) =>
    h.db.query<Row>("SELECT operation, outcome, actor, reason, from_environment, to_environment, metadata FROM deployment_audit WHERE team = $1 ORDER BY id", [team]);
  const trail = async (team: string) =>
    (await rows(team)).filter((r) => (r.operation.startsWith("heal:") && r.outcome !== "monitor_only") || (r.operation === "switch" && r.actor !== "earlier")).map((r) => `${r.operation}:${r.outcome}`);

  it("restart does not help -> the healer switches colour via the orchestrator; traffic ends on the healthy colour", async () => {
    expect(await h.servedBy("mend")).toBe("blue");
    h.backend("mend", "blue").mode = "error"; // fails for good: a restart keeps the mode

    await waitFor("the healer's switch finished", async () => (await rows("mend")).some((r) => r.operation === "heal:switch_environment"), 120_000, 250);
    expect(await trail("mend")).toEqual(["heal:restart_container:done", "switch:completed", "heal:switch_environment:done"]);
    expect(restarts.restarts).toEqual(["jenkins-mend-blue"]);

    // The switch: the orchestrator's, mode auto-heal, by the healer, budget checked and recorded.
    const all = await rows("mend");
    const sw = all.find((r) => r.operation === "switch")!;
    expect(sw).toMatchObject({ actor: ACTOR, from_environment: "blue", to_environment: "green", reason: expect.stringMatching(/^auto-heal: .*consecutive failures.*http: \/login failed \(500\)/) });
    expect(sw.metadata).toMatchObject({ mode: "auto-heal", forced: false, backupId: expect.any(String), switchId: expect.stringMatching(/^sw-/) });
    expect((sw.metadata.steps as Array<{ percent: number; pass: boolean }>).map((s) => [s.percent, s.pass])).toEqual([[5, true], [10, true], [25, true], [50, true], [100, true]]);
    expect(all.find((r) => r.operation === "heal:restart_container")).toMatchObject({ actor: ACTOR, outcome: "done", metadata: expect.objectContaining({ container: "jenkins-mend-blue" }) });
    expect(all.find((r) => r.operation === "heal:switch_environment")?.metadata).toMatchObject({ to: "green" });
    // The budget gate ran for the auto-heal switch (its proof is in the switch record) and the switch counts against it.
    expect(await h.stack.getConfig("teams.mend.switchRecord.mode")).toBe("auto-heal");
    expect(await h.stack.getConfig("teams.mend.switchRecord.switchesLastHour")).toBe("0");
    expect(await h.stack.getConfig("teams.mend.switchRecord.backupId")).toBe(sw.metadata.backupId);
    const after = await h.coordination.checkBudget("mend", new Date());
    expect(after).toMatchObject({ allowed: false, switchesLastHour: 1 });
    expect(after.reason).toMatch(/cooldown/);

    // The stack config changed, and the coordination DB records it, written by the healer's connection.
    expect(await h.stack.getConfig("teams.mend.activeEnvironment")).toBe("green");
    expect(await h.db.query("SELECT active_environment, updated_by FROM jenkins_coordination WHERE team = 'mend'")).toEqual([{ active_environment: "green", updated_by: ACTOR }]);

    // Traffic through HAProxy ends on green.
    for (let i = 0; i < 10; i++) expect(await h.servedBy("mend")).toBe("green");

    // Leases released, journal closed, no human needed; the healer now watches green and finds it healthy.
    expect(await h.coordination.leases.show("team:mend")).toBeUndefined();
    expect(await h.coordination.leases.show(`stack:${h.stack.stackName}`)).toBeUndefined();
    expect(await h.coordination.journalOpen("mend")).toEqual([]);
    expect(await h.db.query("SELECT needs_human FROM heal_flags WHERE team = 'mend' AND needs_human")).toEqual([]);
    await waitFor("healer sees green healthy", async () => service.healer.status.get("mend")?.healthy === true, 15000);
    expect(service.healer.status.get("mend")?.lastEvidence.join(" ")).toMatch(/http: \/login 200/);
  }, 180_000);

  it("switch budget exhausted -> the orchestrator refuses the auto-heal switch; the healer escalates", async () => {
    h.backend("spent", "blue").mode = "error";
    await waitFor("escalated", async () => (await rows("spent")).some((r) => r.operation === "heal:escalate_human"), 60_000, 250);
    expect(await trail("spent")).toEqual(["heal:restart_container:done", "switch:refused", "heal:switch_environment:failed", "heal:escalate_human:done"]);
    const refused = (await rows("spent")).find((r) => r.operation === "switch" && r.outcome === "refused")!;
    expect(refused).toMatchObject({ actor: ACTOR, to_environment: "green" });
    expect(refused.metadata).toMatchObject({ mode: "auto-heal", budget: expect.objectContaining({ allowed: false, switchesLastHour: 2 }) });
    expect((await rows("spent")).find((r) => r.operation === "heal:switch_environment")?.metadata.error).toMatch(/switch budget exhausted/);
    expect(await h.stack.getConfig("teams.spent.activeEnvironment")).toBe("blue");
    expect(await h.db.query("SELECT needs_human FROM heal_flags WHERE team = 'spent'")).toEqual([{ needs_human: true }]);
    expect(await h.coordination.leases.show("team:spent")).toBeUndefined();
  }, 120_000);
});
