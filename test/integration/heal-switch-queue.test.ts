import { Database } from "../../automation/coordination/db";
import { SwitchRequestQueue } from "../../automation/coordination/switch-requests";
import { QueuedSwitchRequester } from "../../automation/heal/queued-switch";
import { HealService, startHealService } from "../../automation/heal/service";
import { ServedRequest, serveSwitchRequests } from "../../automation/switch/request-worker";
import { FAST_HEALING, TEST_INTERVAL_MS, collectingLog } from "../support/heal-rig";
import { StandInRestarts } from "../support/standin-restarts";
import { SwitchHarness, spendSwitchBudget, startSwitchHarness } from "../support/switch-harness";
import { waitFor } from "../support/tools";

interface Row extends Record<string, unknown> {
  operation: string;
  outcome: string;
  actor: string;
  to_environment: string | null;
  metadata: Record<string, unknown>;
}

const HEALER = "healer:it-healer";
const WORKER = "jenkins:it-Auto-Heal-Switch-7";

/**
 * Rung 2 as the deployed Healer container does it: the healer (as the `healer` DB role,
 * no Pulumi workspace) queues a switch request; a switch worker (as the `orchestrator`
 * role, the Infrastructure/Auto-Heal-Switch job's `switch-requests serve`) claims it and
 * runs the REAL switch orchestrator — lease, budget, backup + sync, staged config, preview
 * and up with the real policy pack, progressive shift with SLI gates on a real HAProxy,
 * commit, audit. Backends are stand-in Jenkins (in-process HTTP servers), the Pulumi seam is
 * TestDoubleStackOperations (the real program offline), restarts go to StandInRestarts.
 */
describe("healer switches colour through a queued request that a switch worker runs", () => {
  let h: SwitchHarness;
  let healerDb: Database;
  let workerDb: Database;
  let service: HealService;
  let restarts: StandInRestarts;
  const stopWorker = new AbortController();
  let worker: Promise<ServedRequest[]>;
  const log = collectingLog();

  beforeAll(async () => {
    h = await startSwitchHarness(["mend", "spent"], { holdSeconds: 1, teamConfig: { healing: FAST_HEALING } });
    await spendSwitchBudget(h, "spent"); // "spent" already switched twice within the hour
    healerDb = new Database(h.pg.roleUrl("healer"));
    workerDb = new Database(h.pg.roleUrl("orchestrator"));
    worker = serveSwitchRequests({
      queue: new SwitchRequestQueue(workerDb),
      stack: h.model.stack,
      worker: WORKER,
      knownTeams: h.model.teams.map((t) => t.name),
      runner: async () => h.orchestrator({ database: workerDb }),
      progress: () => undefined,
      signal: stopWorker.signal,
      pollMs: 200,
      heartbeatMs: 500,
    });
    const switcher = new QueuedSwitchRequester({ queue: new SwitchRequestQueue(healerDb), stack: h.model.stack, requestedBy: HEALER, claimWithinSeconds: 30, staleAfterSeconds: 30, log: log.log, pollMs: 200 });
    restarts = new StandInRestarts((team, colour) => h.backends.get(`${team}/${colour}`));
    service = await startHealService({ model: h.model, db: healerDb, switcher, log: log.log, intervalMs: TEST_INTERVAL_MS, probeTimeoutMs: 1000, healerId: "it-healer", containers: () => restarts });
    await waitFor("healer sees both teams healthy", async () => ["mend", "spent"].every((t) => service.healer.status.get(t)?.healthy === true), 15000);
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
    stopWorker.abort();
    await worker;
    await healerDb?.close();
    await workerDb?.close();
    await h?.stop();
  });

  const rows = (team: string) => h.db.query<Row>("SELECT operation, outcome, actor, to_environment, metadata FROM deployment_audit WHERE team = $1 ORDER BY id", [team]);
  const trail = async (team: string) =>
    (await rows(team)).filter((r) => (r.operation.startsWith("heal:") && r.outcome !== "monitor_only") || (r.operation === "switch" && r.actor !== "earlier")).map((r) => `${r.operation}:${r.outcome}`);
  const requests = (team: string) => h.db.query<{ status: string; requested_by: string; claimed_by: string; switch_id: string | null; outcome_reason: string | null }>("SELECT status, requested_by, claimed_by, switch_id, outcome_reason FROM switch_requests WHERE team = $1 ORDER BY id", [team]);

  it("restart does not help -> the healer queues a switch, the worker runs the orchestrator; traffic ends on the healthy colour", async () => {
    expect(await h.servedBy("mend")).toBe("blue");
    h.backend("mend", "blue").mode = "error";

    await waitFor("the healer's switch finished", async () => (await rows("mend")).some((r) => r.operation === "heal:switch_environment"), 120_000, 250);
    expect(await trail("mend")).toEqual(["heal:restart_container:done", "switch:completed", "heal:switch_environment:done"]);
    const sw = (await rows("mend")).find((r) => r.operation === "switch")!;
    // Asked by the healer, run by the worker: both are named; the orchestrator's gates ran.
    expect(sw).toMatchObject({ actor: `${HEALER} via ${WORKER}`, to_environment: "green" });
    expect(sw.metadata).toMatchObject({ mode: "auto-heal", backupId: expect.any(String) });
    expect((sw.metadata.steps as Array<{ percent: number }>).map((s) => s.percent)).toEqual([5, 10, 25, 50, 100]);
    expect(await requests("mend")).toEqual([{ status: "completed", requested_by: HEALER, claimed_by: WORKER, switch_id: sw.metadata.switchId, outcome_reason: null }]);
    expect(await h.stack.getConfig("teams.mend.activeEnvironment")).toBe("green");
    expect(await h.db.query("SELECT active_environment, updated_by FROM jenkins_coordination WHERE team = 'mend'")).toEqual([{ active_environment: "green", updated_by: `${HEALER} via ${WORKER}` }]);
    for (let i = 0; i < 10; i++) expect(await h.servedBy("mend")).toBe("green");
    expect(await h.coordination.leases.show("team:mend")).toBeUndefined();
    expect(await h.coordination.journalOpen("mend")).toEqual([]);
    await waitFor("healer sees green healthy", async () => service.healer.status.get("mend")?.healthy === true, 15000);
    expect(log.events.some((e) => e.msg === "switch request claimed" && e.claimedBy === WORKER)).toBe(true);
  }, 180_000);

  it("switch budget exhausted -> the worker's orchestrator refuses; the request says why and the healer escalates", async () => {
    h.backend("spent", "blue").mode = "error";
    await waitFor("escalated", async () => (await rows("spent")).some((r) => r.operation === "heal:escalate_human"), 60_000, 250);
    expect(await trail("spent")).toEqual(["heal:restart_container:done", "switch:refused", "heal:switch_environment:failed", "heal:escalate_human:done"]);
    const [request] = await requests("spent");
    expect(request).toMatchObject({ status: "refused", claimed_by: WORKER });
    expect(request.outcome_reason).toMatch(/switch budget exhausted/);
    expect((await rows("spent")).find((r) => r.operation === "heal:switch_environment")?.metadata.error).toMatch(/switch budget exhausted.*run by jenkins:it-Auto-Heal-Switch-7/);
    expect(await h.stack.getConfig("teams.spent.activeEnvironment")).toBe("blue");
    expect(await h.db.query("SELECT needs_human FROM heal_flags WHERE team = 'spent'")).toEqual([{ needs_human: true }]);
  }, 120_000);
});
