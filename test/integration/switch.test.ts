import { AuditRow } from "../../automation/coordination/audit";
import { SwitchRequestQueue } from "../../automation/coordination/switch-requests";
import { LeaseHeld } from "../../automation/coordination/errors";
import { SliBreach, SwitchRefused } from "../../automation/switch/orchestrator";
import { BackupPort, SwitchCoordination, TrafficPort } from "../../automation/switch/ports";
import { HaproxyTraffic } from "../../automation/traffic/haproxy-traffic";
import { emergencyStop } from "../../automation/cli/switch";
import { teamStatus } from "../../automation/switch/status";
import { Colour } from "../../config/schema";
import { LoadGenerator } from "../support/load";
import { SwitchHarness, startSwitchHarness } from "../support/switch-harness";

/**
 * The switch orchestrator end to end on real PostgreSQL, real HAProxy, real backups and
 * stand-in Jenkins backends; only the Pulumi seam is a test double (no Pulumi CLI here).
 */
describe("switch orchestrator (real HAProxy, PostgreSQL, backups; Pulumi seam is a test double)", () => {
  let h: SwitchHarness;
  beforeAll(async () => {
    h = await startSwitchHarness(["alpha", "beta"]);
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
  });

  const audits = async (team: string): Promise<AuditRow[]> => (await h.coordination.auditLog.query({ team })).filter((r) => r.operation === "switch" || r.operation === "rollback");
  const weights = async (team: string) => {
    const t = h.model.teams.find((x) => x.name === team)!;
    const rows = (await h.haproxy.runtime.showStat()).filter((r) => r.pxname === t.backendName && (r.svname === "blue" || r.svname === "green"));
    return Object.fromEntries(rows.map((r) => [r.svname, r.weight]));
  };

  it("switches blue -> green -> blue under steady load with 0 failed requests, audited, lock released", async () => {
    const load = new LoadGenerator(`${h.publicUrl("alpha")}/job/x/`, { concurrency: 4, pauseMs: 5, maxSeconds: 120 }).start();
    const there = await h.orchestrator().switch({ team: "alpha", to: "green", reason: "release 2.0", actor: "jenkins-it", mode: "safe" });
    expect(there.outcome).toBe("completed");
    expect(there.steps.map((s) => s.percent)).toEqual([5, 10, 25, 50, 100]);
    expect(there.steps.every((s) => s.pass && s.sli.requests > 0)).toBe(true);
    load.resetColours();
    await new Promise((r) => setTimeout(r, 500));
    expect(Object.keys(load.result.byColour)).toEqual(["green"]);
    expect(await h.stack.getConfig("teams.alpha.activeEnvironment")).toBe("green");
    expect(await h.stack.getConfig("teams.alpha.switchRecord.backupId")).toBe(there.backupId);

    // Back again: the cooldown applies to safe mode, so this is on-call's forced switch.
    const back = await h.orchestrator().switch({ team: "alpha", to: "blue", reason: "back", actor: "oncall", mode: "force" });
    expect(back.outcome).toBe("completed");
    const result = await load.stop();
    expect(result.failures).toEqual([]);
    expect(result.failed).toBe(0);
    expect(result.sent).toBeGreaterThan(100);
    expect(await h.servedBy("alpha")).toBe("blue");
    expect(await weights("alpha")).toEqual({ blue: 100, green: 1 });

    const rows = await audits("alpha");
    expect(rows.map((r) => [r.from, r.to, r.outcome])).toEqual([
      ["blue", "green", "completed"],
      ["green", "blue", "completed"],
    ]);
    expect(rows[0].metadata).toMatchObject({ switchId: there.id, mode: "safe", backupId: there.backupId });
    expect((rows[0].metadata.steps as unknown[]).length).toBe(5);
    expect(rows[1].metadata).toMatchObject({ mode: "force", forced: true });
    expect(await h.coordination.leases.show("team:alpha")).toBeUndefined();
    expect(await h.coordination.journalOpen("alpha")).toEqual([]);
  }, 180_000);

  it("rolls back at once when the target breaches an SLI at the 25 % step", async () => {
    const green = h.backend("beta", "green");
    const real = new HaproxyTraffic(h.haproxy.runtime);
    // The target starts answering 500s as soon as it is given 25 % of the traffic.
    const breakingAt25: TrafficPort = {
      async setTargetPercent(backend, source, target, percent) {
        if (percent === 25) green.mode = "error";
        return real.setTargetPercent(backend, source, target, percent);
      },
      readServer: (backend, server) => real.readServer(backend, server),
      restoreConfiguredWeights: (backend) => real.restoreConfiguredWeights(backend),
    };
    try {
      const failure = await h
        .orchestrator({ traffic: breakingAt25 })
        .switch({ team: "beta", to: "green", reason: "plugin update", actor: "jenkins-it", mode: "safe" })
        .then(() => undefined, (err: unknown) => err);
      expect(failure).toBeInstanceOf(SliBreach);
      expect((failure as SliBreach).percent).toBe(25);
      expect((failure as SliBreach).verdict.breaches.join()).toMatch(/error rate/);
    } finally {
      green.mode = "healthy";
    }
    expect(await h.servedBy("beta")).toBe("blue");
    // The standby is a working backup again (configured weight, not the runtime 0).
    expect(await weights("beta")).toEqual({ blue: 100, green: 1 });
    expect(await h.stack.getConfig("teams.beta.activeEnvironment")).toBe("blue");
    expect(await h.stack.getConfig("teams.beta.switchRecord")).toBeUndefined();
    const rows = await audits("beta");
    expect(rows.at(-1)).toMatchObject({ from: "blue", to: "green", outcome: "rolled_back" });
    expect(rows.at(-1)!.metadata.breaches).toEqual(expect.arrayContaining([expect.stringMatching(/error rate/)]));
    expect((rows.at(-1)!.metadata.steps as Array<{ percent: number }>).map((s) => s.percent)).toEqual([5, 10]);
    expect(await h.coordination.leases.show("team:beta")).toBeUndefined();
  }, 120_000);

  it("refuses a second switch of the same team while one runs, naming the holder", async () => {
    const lease = await h.coordination.acquireLease("team:beta", "switch-by-jenkins-42", 60);
    try {
      const refused = await h.orchestrator().switch({ team: "beta", to: "green", reason: "r", actor: "other", mode: "safe" }).then(() => undefined, (e: unknown) => e);
      expect(refused).toBeInstanceOf(LeaseHeld);
      expect((refused as Error).message).toContain("held by switch-by-jenkins-42");
    } finally {
      await h.coordination.releaseLease(lease);
    }
  });

  describe("refusals before any traffic moves", () => {
    const untouched = async (team: string, before: { ups: number; weights: Record<string, number> }) => {
      expect(await weights(team)).toEqual(before.weights);
      expect(await h.servedBy(team)).toBe("blue");
      expect(await h.stack.getConfig(`teams.${team}.activeEnvironment`)).toBe("blue");
      expect(await h.coordination.leases.show(`team:${team}`)).toBeUndefined();
    };
    const snapshot = async (team: string) => ({ ups: h.stack.ups, weights: await weights(team) });

    it("budget exhausted: refused with the time it is allowed, audited as refused", async () => {
      const at = new Date(Date.now() - 10 * 60_000);
      await h.coordination.audit({ operation: "switch", team: "beta", actor: "t", reason: "earlier", from: "green", to: "blue", outcome: "completed", startedAt: at, finishedAt: at, metadata: {} });
      const before = await snapshot("beta");
      const refused = await h.orchestrator().switch({ team: "beta", to: "green", reason: "again", actor: "jenkins-it", mode: "safe" }).then(() => undefined, (e: unknown) => e);
      expect(refused).toBeInstanceOf(SwitchRefused);
      expect((refused as Error).message).toMatch(/switch budget exhausted for team 'beta': cooldown of 30 min .*; allowed again at /);
      expect(h.stack.ups).toBe(before.ups);
      await untouched("beta", before);
      expect((await audits("beta")).at(-1)).toMatchObject({ outcome: "refused", metadata: expect.objectContaining({ budget: expect.objectContaining({ allowed: false }) }) });
    });

    it("backup verification failing: the switch never stages", async () => {
      const failingBackup: BackupPort = {
        runAndVerify: async () => {
          throw new Error("backup 2026-11-23T00-00-00-000Z of beta failed verification: objects/ab12… sha256 mismatch");
        },
        sync: async () => ({ buildsWereRunning: false }),
      };
      const before = await snapshot("beta");
      const err = await h.orchestrator({ backup: failingBackup }).switch({ team: "beta", to: "green", reason: "r", actor: "oncall", mode: "force" }).then(() => undefined, (e: unknown) => e);
      expect((err as Error).message).toContain("failed verification");
      await untouched("beta", before);
      expect((await audits("beta")).at(-1)).toMatchObject({ outcome: "rolled_back", metadata: expect.objectContaining({ rollbackReason: expect.stringContaining("failed verification") }) });
    });

    it("target never healthy: refused after the bounded wait, config back", async () => {
      const green = h.backend("beta", "green");
      green.mode = "error";
      try {
        const before = await snapshot("beta");
        const err = await h.orchestrator({ healthTimeoutSeconds: 3 }).switch({ team: "beta", to: "green", reason: "r", actor: "oncall", mode: "force" }).then(() => undefined, (e: unknown) => e);
        expect((err as Error).message).toMatch(/beta\/green at .* was not healthy within 3 s .*traffic was not moved/);
        expect(await weights("beta")).toEqual(before.weights);
        await untouched("beta", before);
        expect(await h.stack.getConfig("teams.beta.standbyRunning")).toBe("false");
      } finally {
        green.mode = "healthy";
      }
    }, 60_000);

    it("a plan that touches another team is refused before anything is deployed", async () => {
      h.stack.injectSteps = [{ op: "update", urn: "urn:pulumi:it::jenkins-ha::jenkins-ha:jenkins:JenkinsTeam$docker:index/container:Container::jenkins-alpha-blue", type: "docker:index/container:Container" }];
      const before = await snapshot("beta");
      const err = await h.orchestrator().switch({ team: "beta", to: "green", reason: "r", actor: "oncall", mode: "force" }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(SwitchRefused);
      expect((err as Error).message).toContain("jenkins-alpha-blue, which is outside team 'beta'");
      await untouched("beta", before);
    });
  });

  it("emergency stop halts a running switch within seconds and traffic returns to the source", async () => {
    const orchestrator = h.orchestrator();
    h.events.length = 0; // earlier switches' progress must not look like this one's
    const colourOf = async (): Promise<Colour> => (await h.stack.getConfig("teams.alpha.activeEnvironment")) as Colour;
    const from = await colourOf();
    const to: Colour = from === "blue" ? "green" : "blue";
    const running = orchestrator.switch({ team: "alpha", to, reason: "r", actor: "jenkins-it", mode: "force" }).then(() => undefined, (e: unknown) => e);
    // Wait until traffic is moving, then stop it.
    const deadline = Date.now() + 60_000;
    while (!h.events.some((e) => e.team === "alpha" && e.step === "shift" && e.percent === 10) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const stopAt = Date.now();
    expect(await h.coordination.requestEmergencyStop("alpha")).toBe(1);
    const err = await running;
    expect(Date.now() - stopAt).toBeLessThan(10_000);
    expect((err as Error).message).toContain("emergency stop requested");
    expect(await colourOf()).toBe(from);
    expect(await h.servedBy("alpha")).toBe(from);
    expect(await h.coordination.journalOpen("alpha")).toEqual([]);
  }, 120_000);

  it("emergency-stop with the switching process gone: traffic back on the source at once, audited", async () => {
    const t = h.model.teams.find((x) => x.name === "beta")!;
    const traffic = new HaproxyTraffic(h.haproxy.runtime);
    const lease = await h.coordination.acquireLease("team:beta", "killed-switch", 60);
    await h.coordination.journalBegin({ id: "sw-killed", team: "beta", from: "blue", to: "green", actor: "jenkins", reason: "r", mode: "safe", phase: "shift", targetPercent: 50, committed: false, startedAt: new Date(), token: lease.token, emergencyStop: false });
    await traffic.setTargetPercent(t.backendName, "blue", "green", 50);
    expect(await weights("beta")).toEqual({ blue: 50, green: 50 });

    // The healer had also asked for a switch of beta: no worker may start it after the stop.
    const queue = new SwitchRequestQueue(h.db);
    const queued = await queue.submit({ stack: h.model.stack, team: "beta", to: "green", reason: "auto-heal: beta keeps failing", requestedBy: "healer:it", claimWithinSeconds: 300 });

    const result = await emergencyStop(h.model, h.coordination, traffic, "beta", "bad plugin everywhere", "oncall-anna", queue);
    expect(result).toMatchObject({ stopped: 1, trafficErrors: 0 });
    expect(result.lines).toContain(`voided 1 queued switch request(s) of the healer: beta #${queued.id}`);
    expect(await queue.get(queued.id)).toMatchObject({ status: "expired", outcomeReason: "emergency stop by oncall-anna: bad plugin everywhere" });
    expect(await queue.claimNext(h.model.stack, "jenkins:late")).toBeUndefined();
    expect(await weights("beta")).toEqual({ blue: 100, green: 0 });
    expect((await h.coordination.journalOpen("beta"))[0]).toMatchObject({ id: "sw-killed", emergencyStop: true });
    const stops = await h.coordination.auditLog.query({ team: "beta", operation: "emergency_stop" });
    expect(stops).toEqual([expect.objectContaining({ actor: "oncall-anna", reason: "bad plugin everywhere", metadata: { switches: ["sw-killed"], voidedRequests: [queued.id], trafficErrors: 0 } })]);

    // status shows the open switch and who holds the lock; the next switch finishes the rollback first.
    const status = await teamStatus(h.model, "beta", { stack: h.stack, coordination: h.coordination, haproxy: h.haproxy.runtime });
    expect(status).toMatchObject({ activeEnvironment: "blue", standbyEnvironment: "green", lock: { holder: "killed-switch" }, openSwitch: { id: "sw-killed", targetPercent: 50, emergencyStop: true } });
    expect(status.health.blue.ok).toBe(true);
    expect(status.lastBackup?.verified).toBe(true);
    await h.coordination.releaseLease(lease);
    const reports = await h.orchestrator().recoverInterrupted("beta", { actor: "oncall-anna" });
    expect(reports.map((r) => [r.id, r.outcome])).toEqual([["sw-killed", "rolled_back"]]);
    expect(await h.coordination.journalOpen("beta")).toEqual([]);
    expect(await weights("beta")).toEqual({ blue: 100, green: 1 });
    expect(await h.servedBy("beta")).toBe("blue");
  }, 60_000);

  it("a failure to record a deployed commit does not roll it back; the next command completes the record", async () => {
    let failed = false;
    const flakyAudit = (store: SwitchCoordination): SwitchCoordination =>
      Object.assign(Object.create(store) as SwitchCoordination, {
        audit: async (entry: Parameters<SwitchCoordination["audit"]>[0]) => {
          if (entry.outcome === "completed" && !failed) {
            failed = true;
            throw new Error("connection reset while writing the audit row");
          }
          return store.audit(entry);
        },
      });
    const err = await h.orchestrator({ coordination: flakyAudit }).switch({ team: "beta", to: "green", reason: "release", actor: "oncall", mode: "force" }).then(() => undefined, (e: unknown) => e);
    expect((err as Error).message).toMatch(/is committed and deployed, but recording it failed \(connection reset.*nothing was rolled back/);
    expect(await h.servedBy("beta")).toBe("green");
    expect(await h.stack.getConfig("teams.beta.activeEnvironment")).toBe("green");
    expect((await h.coordination.journalOpen("beta"))[0]).toMatchObject({ committed: true, phase: "commit" });

    const reports = await h.orchestrator().recoverInterrupted("beta", { actor: "oncall" });
    expect(reports.map((r) => r.outcome)).toEqual(["completed"]);
    expect(await h.coordination.journalOpen("beta")).toEqual([]);
    expect(await h.servedBy("beta")).toBe("green");
    expect((await audits("beta")).at(-1)).toMatchObject({ from: "blue", to: "green", outcome: "completed" });
  }, 120_000);
});
