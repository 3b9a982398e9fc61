import { AuditRow } from "../../automation/coordination/audit";
import { PolicyRefused } from "../../automation/switch/stack-operations";
import { LoadGenerator } from "../support/load";
import { SwitchHarness, startSwitchHarness } from "../support/switch-harness";

/**
 * Two teams in one stack (one Pulumi stack holds every team): their switches run at the
 * same time, and the policy pack is a gate a switch cannot pass by itself. Real HAProxy,
 * PostgreSQL and backups; the Pulumi seam is the test double, which — like the engine —
 * refuses a second update while one runs and evaluates the real policy pack.
 */
describe("switches on a shared stack (real HAProxy, PostgreSQL; Pulumi seam is a test double)", () => {
  let h: SwitchHarness;
  beforeAll(async () => {
    h = await startSwitchHarness(["gamma", "delta", "epsilon"], { holdSeconds: 1 });
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  const switchRows = async (team: string): Promise<AuditRow[]> => (await h.coordination.auditLog.query({ team })).filter((r) => r.operation === "switch");

  it("switches of two teams run in parallel: shifts overlap, stack updates take turns, both complete with 0 failed requests", async () => {
    h.events.length = 0;
    const loads = ["gamma", "delta"].map((team) => new LoadGenerator(`${h.publicUrl(team)}/job/x/`, { concurrency: 2, pauseMs: 5, maxSeconds: 120 }).start());
    // The test double runs the Pulumi program inside this process, so one team's `up` stalls
    // the event loop that times the other team's probes (the real engine runs out of
    // process); the p95 gate is widened here for that reason only — SLI gates have their
    // own tests in switch.test.ts.
    const settled = await Promise.allSettled(
      ["gamma", "delta"].map((team) => h.orchestrator({ maxP95Ms: 30_000 }).switch({ team, to: "green", reason: `release of ${team}`, actor: `jenkins-${team}`, mode: "safe" })),
    );
    const [gamma, delta] = settled.map((r) => {
      if (r.status === "rejected") throw r.reason;
      return r.value;
    });
    const results = await Promise.all(loads.map((l) => l.stop()));

    expect([gamma.outcome, delta.outcome]).toEqual(["completed", "completed"]);
    for (const r of results) {
      expect(r.failures).toEqual([]);
      expect(r.sent).toBeGreaterThan(50);
    }
    expect(await h.servedBy("gamma")).toBe("green");
    expect(await h.servedBy("delta")).toBe("green");
    expect(await h.stack.getConfig("teams.gamma.activeEnvironment")).toBe("green");
    expect(await h.stack.getConfig("teams.delta.activeEnvironment")).toBe("green");

    // In parallel, not one after the other: a shift step of one team happened while the
    // other team was between its first and last shift step.
    const shifts = h.events.map((e, i) => ({ ...e, i })).filter((e) => e.step === "shift");
    const span = (team: string) => {
      const own = shifts.filter((e) => e.team === team).map((e) => e.i);
      return [Math.min(...own), Math.max(...own)];
    };
    const [gFirst, gLast] = span("gamma");
    expect(shifts.some((e) => e.team === "delta" && e.i > gFirst && e.i < gLast)).toBe(true);

    for (const team of ["gamma", "delta"]) {
      expect((await switchRows(team)).map((r) => r.outcome)).toEqual(["completed"]);
      expect(await h.coordination.leases.show(`team:${team}`)).toBeUndefined();
    }
    expect(await h.coordination.leases.show(`stack:${h.stack.stackName}`)).toBeUndefined();
  }, 180_000);

  it("a switch waits for the stack lease another update holds, and goes on once it is released", async () => {
    const other = await h.coordination.acquireLease(`stack:${h.stack.stackName}`, "pulumi up by hand (test)", 30);
    h.events.length = 0;
    const running = h.orchestrator({ maxP95Ms: 30_000 }).switch({ team: "gamma", to: "blue", reason: "back", actor: "oncall", mode: "force" });
    await new Promise((r) => setTimeout(r, 3000));
    expect(h.events.some((e) => e.team === "gamma" && e.step === "wait" && e.message.includes("pulumi up by hand (test)"))).toBe(true);
    expect(h.events.some((e) => e.step === "shift")).toBe(false);
    await h.coordination.releaseLease(other);
    expect((await running).outcome).toBe("completed");
    expect(await h.servedBy("gamma")).toBe("blue");
  }, 120_000);

  it("a policy violation refuses the switch at the staged preview, before traffic moves", async () => {
    // The database's limits allow this switch (1 in the last hour < 2, cooldown over); the
    // policy pack, configured stricter, does not — it is a gate of its own.
    const at = new Date(Date.now() - 40 * 60_000);
    await h.coordination.audit({ operation: "switch", team: "epsilon", actor: "t", reason: "earlier", from: "green", to: "blue", outcome: "completed", startedAt: at, finishedAt: at, metadata: {} });
    const weightsBefore = (await h.haproxy.runtime.showStat()).filter((r) => r.pxname === h.model.teams.find((t) => t.name === "epsilon")!.backendName).map((r) => [r.svname, r.weight]);
    h.stack.policyPackConfig = { "switch-budget": { maxSwitchesPerHour: 1 } };
    const upsBefore = h.stack.ups;
    try {
      h.events.length = 0;
      const err = await h.orchestrator().switch({ team: "epsilon", to: "green", reason: "r", actor: "jenkins-epsilon", mode: "safe" }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(PolicyRefused);
      expect((err as Error).message).toMatch(/\[switch-budget\] team 'epsilon' had \d+ switches in the last hour \(max 1\)/);
      expect(h.events.some((e) => e.step === "shift")).toBe(false);
      // Only the rollback's update ran (config back), nothing was staged.
      expect(h.stack.ups).toBe(upsBefore + 1);
      const weightsAfter = (await h.haproxy.runtime.showStat()).filter((r) => r.pxname === h.model.teams.find((t) => t.name === "epsilon")!.backendName).map((r) => [r.svname, r.weight]);
      expect(weightsAfter).toEqual(weightsBefore);
      expect(await h.servedBy("epsilon")).toBe("blue");
      expect(await h.stack.getConfig("teams.epsilon.switchRecord")).toBeUndefined();
      expect((await switchRows("epsilon")).at(-1)).toMatchObject({ outcome: "rolled_back", metadata: expect.objectContaining({ rollbackReason: expect.stringContaining("switch-budget") }) });
    } finally {
      h.stack.policyPackConfig = undefined;
    }
  }, 120_000);
});
