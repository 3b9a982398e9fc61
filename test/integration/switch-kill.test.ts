import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LeaseHeld } from "../../automation/coordination/errors";
import { SwitchReport } from "../../automation/switch/orchestrator";
import { loadPlatformModel } from "../../config/load";
import { otherColour } from "../../config/model";
import { Colour } from "../../config/schema";
import { renderHaproxyConfig } from "../../render/haproxy";
import { LoadGenerator, LoadResult } from "../support/load";
import type { ChildEvent, ChildEventMatch, SwitchChildRun, SwitchChildSetup } from "../support/switch-child";
import { SwitchHarness, startSwitchHarness } from "../support/switch-harness";

const CHILD = path.join(__dirname, "..", "support", "switch-child.ts");
const TEAM = "kilo";
/**
 * Short, so that a killed holder's lease runs out within seconds; a live holder renews it
 * every TTL/3 (at least every second). Not shorter: the test double runs the Pulumi
 * program in the switching process and blocks its event loop for up to ~1.5 s on a busy
 * machine (children report such stalls as {"kind":"stall"} lines).
 */
const LEASE_TTL_SECONDS = 4;

/** A switch (or recovery) in a child process on the harness's HAProxy, PostgreSQL, stores and stack state file. */
class SwitchChild {
  /** Every child started, so that none outlives the test file (afterAll kills what still runs). */
  static readonly all = new Set<SwitchChild>();
  readonly events: ChildEvent[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stderr = "";
  private readonly waiters: Array<() => void> = [];

  private constructor(private readonly child: ChildProcess) {
    let buffered = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim()) this.events.push(JSON.parse(line) as ChildEvent);
      }
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        for (const w of this.waiters.splice(0)) w();
        resolve({ code, signal });
      }),
    );
  }

  /** Starts loading (seconds); `run` tells it what to do. */
  static spawn(h: SwitchHarness): SwitchChild {
    const setup: SwitchChildSetup = {
      databaseUrl: h.pg.url,
      raw: h.raw,
      stateFile: h.stateFile!,
      runtimeDir: h.runtimeDir,
      haproxyPid: h.haproxy.pid,
      statsPasswordHash: h.statsPasswordHash,
      homesDir: path.join(h.dir, "homes"),
      buildDir: path.join(h.dir, "build"),
    };
    const child = new SwitchChild(spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(setup)], { stdio: ["pipe", "pipe", "pipe"] }));
    SwitchChild.all.add(child);
    void child.exited.then(() => SwitchChild.all.delete(child));
    return child;
  }

  async run(run: SwitchChildRun): Promise<this> {
    await this.waitFor("ready", (e) => e.kind === "ready");
    this.child.stdin!.end(`${JSON.stringify(run)}\n`);
    return this;
  }

  /** The first event matching `pred`; fails if the child ends (or the time runs out) first. */
  async waitFor(what: string, pred: (e: ChildEvent) => boolean, timeoutMs = 90_000): Promise<ChildEvent> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    void this.exited.then(() => (ended = true));
    for (;;) {
      const found = this.events.find(pred);
      if (found) return found;
      if (ended || Date.now() > deadline) {
        throw new Error(`switch child ${ended ? "ended" : "still running"} without ${what}; events:\n${this.events.map((e) => JSON.stringify(e)).join("\n")}\nstderr:\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 250);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** SIGKILL, as the test's kill and as clean-up of a child never used. */
  async sigkill(): Promise<NodeJS.Signals | null> {
    this.child.kill("SIGKILL");
    return (await this.exited).signal;
  }
}

/**
 * The switch issue's "SIGKILL of the orchestrator at each step (pre-flight, stage, each
 * shift step, commit): the next command restores a consistent state; no request fails
 * beyond the kill window". The switch runs in a child process on the real PostgreSQL,
 * HAProxy (runtime API, seamless reloads) and backup store of the test; it is SIGKILLed at
 * a step while a load generator runs on the team's public URL, and the next command
 * (`recoverInterrupted`, what `jenkins-ha switch` and `--resume` run first) is a new
 * orchestrator on the state the killed one left: the journal in PostgreSQL, HAProxy as it
 * is, and the stack config in the test double's state file. Only the Pulumi seam is a
 * test double (no Pulumi CLI here); both colours' stand-in backends stay up, so the kill
 * window may not cost a single request.
 */
describe("SIGKILL of the switch orchestrator at each step (real HAProxy, PostgreSQL, backups; Pulumi seam is a test double sharing a state file)", () => {
  let h: SwitchHarness;
  beforeAll(async () => {
    h = await startSwitchHarness([TEAM], { holdSeconds: 1, leaseTtlSeconds: LEASE_TTL_SECONDS, stateFile: true });
    await h.backend(TEAM, "green").start();
  }, 120_000);
  afterAll(async () => {
    for (const child of [...SwitchChild.all]) await child.sigkill();
    await h?.stop();
  });

  // The next child is started while the current test runs: loading it takes seconds.
  let warm: SwitchChild | undefined;
  const startChild = (run: SwitchChildRun): Promise<SwitchChild> => {
    const child = warm ?? SwitchChild.spawn(h);
    warm = SwitchChild.spawn(h);
    return child.run(run);
  };

  const backendName = () => h.model.teams.find((t) => t.name === TEAM)!.backendName;
  const weights = async () => {
    const rows = (await h.haproxy.runtime.showStat()).filter((r) => r.pxname === backendName() && (r.svname === "blue" || r.svname === "green"));
    return Object.fromEntries(rows.map((r) => [r.svname, r.weight]));
  };
  const startLoad = () => new LoadGenerator(`${h.publicUrl(TEAM)}/job/x/`, { concurrency: 2, pauseMs: 5, maxSeconds: 150 }).start();
  const activeNow = async (): Promise<Colour> => (await h.freshStack().getConfig(`teams.${TEAM}.activeEnvironment`)) as Colour;
  const switchRows = async (switchId: string) => (await h.coordination.auditLog.query({ team: TEAM })).filter((r) => r.metadata.switchId === switchId);
  const expectNoFailedRequest = (load: LoadResult) => {
    expect(load.failures).toEqual([]);
    expect(load.failed).toBe(0);
    expect(load.sent).toBeGreaterThan(50);
  };

  const waitForLeaseExpiry = async () => {
    const deadline = Date.now() + (LEASE_TTL_SECONDS + 10) * 1000;
    while ((await h.coordination.leases.show(`team:${TEAM}`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  };

  /** A child's report (or its error, thrown). */
  const reportOf = async (child: SwitchChild, what: string): Promise<SwitchReport[]> => {
    const end = await child.waitFor(what, (e) => e.kind === "report" || e.kind === "error");
    if (end.kind === "error") throw new Error(`${what} failed: ${String(end.name)}: ${String(end.message)}\n${child.events.map((e) => JSON.stringify(e)).join("\n")}`);
    return end.reports as SwitchReport[];
  };

  /**
   * The next `jenkins-ha switch` (or `switch --resume`), in a new process, on the state the
   * killed one left: it runs `recoverInterrupted` first, on a new stack double reading the
   * state file. It is started once the killed holder's lease has run out (before that it
   * is refused, see the kill-point tests), as a retry after the refusal's "wait for it".
   */
  const nextCommand = async (options: { resume?: boolean } = {}): Promise<SwitchReport[]> => {
    await waitForLeaseExpiry();
    return reportOf(await startChild({ recover: { team: TEAM, actor: "oncall-next", ...options } }), "the next command");
  };

  /** Runs a switch in a child and SIGKILLs it at `killAt`; returns the switch's open journal entry. */
  const switchKilledAt = async (killAt: ChildEventMatch, to: Colour = "green") => {
    const child = await startChild({ request: { team: TEAM, to, reason: "release (killed)", actor: "jenkins-killed", mode: "force" }, killAt });
    await child.waitFor(`the kill point ${JSON.stringify(killAt)}`, (e) => e.killPoint === true);
    expect(await child.sigkill()).toBe("SIGKILL");
    const open = await h.coordination.journalOpen(TEAM);
    expect(open).toHaveLength(1);
    return open[0];
  };

  /**
   * The config, HAProxy and the deployment agree, and no lease is left behind: HAProxy runs
   * the config the stack declares, and a preview plans no change (except the documented
   * bookkeeping input `lastDeployedEnvironment`, which the run after any colour change
   * updates, killed or not — see plan-check.ts).
   */
  const expectDeployedAsConfigured = async () => {
    const stack = h.freshStack();
    const model = loadPlatformModel("it", stack.config);
    expect(fs.readFileSync(path.join(h.runtimeDir, "haproxy.cfg"), "utf8")).toBe(renderHaproxyConfig(model, { statsPasswordHash: h.statsPasswordHash, runtimeDir: h.runtimeDir }));
    const changes = (await stack.preview(() => undefined)).steps.filter((s) => s.op !== "same" && !(s.op === "update" && s.diffs?.every((d) => d === "lastDeployedEnvironment")));
    expect(changes).toEqual([]);
    expect(await h.coordination.leases.list()).toEqual([]);
  };

  /** The team is back on blue, declared and served, and nothing of the switch is left open. */
  const expectConsistentOnSource = async (switchId: string, committed: boolean) => {
    expect(await h.coordination.journalOpen(TEAM)).toEqual([]);
    const rows = await switchRows(switchId);
    expect(rows.map((r) => r.outcome)).toEqual(["rolled_back"]);
    expect(rows[0].metadata.rollbackReason).toMatch(/^interrupted in phase \w+; recovered by oncall-next$/);

    expect(await h.servedBy(TEAM)).toBe("blue");
    // The standby is a working backup server again (configured weight 1, not a runtime 0).
    expect(await weights()).toEqual({ blue: 100, green: 1 });

    const stack = h.freshStack();
    expect(await stack.getConfig(`teams.${TEAM}.activeEnvironment`)).toBe("blue");
    if (committed) {
      // The commit went through, so going back was a colour change with its own record.
      expect(await stack.getConfig(`teams.${TEAM}.switchRecord.id`)).toBe(`${switchId}-rollback`);
      expect(await stack.getConfig(`teams.${TEAM}.switchRecord.to`)).toBe("blue");
      expect(await stack.getConfig(`teams.${TEAM}.switchRecord.mode`)).toBe("rollback");
    } else {
      expect(await stack.getConfig(`teams.${TEAM}.switchRecord`)).toBeUndefined();
      expect(await stack.getConfig(`teams.${TEAM}.standbyRunning`)).toBe("false");
    }
    await expectDeployedAsConfigured();
    // The team can be switched again.
    const again = await h.coordination.acquireLease(`team:${TEAM}`, "next switch", 30);
    await h.coordination.releaseLease(again);
  };

  const killPoints: Array<{ name: string; killAt: ChildEventMatch; phase: string; percent?: number; committed?: boolean }> = [
    { name: "pre-flight: backup verified, sync not run", killAt: { kind: "progress", step: "preflight", messageIncludes: "verified" }, phase: "preflight" },
    { name: "stage: config staged, preview running under the stack lease", killAt: { kind: "stack", op: "preview" }, phase: "stage" },
    { name: "stage: target deployed, waiting for its health", killAt: { kind: "progress", step: "stage", messageIncludes: "waiting until it is healthy" }, phase: "stage" },
    ...[5, 10, 25, 50, 100].map((percent) => ({ name: `shift: ${percent} % on the target`, killAt: { kind: "traffic", percent }, phase: "shift", percent })),
    { name: "commit: activeEnvironment written, not deployed", killAt: { kind: "stack", op: "setConfig", path: `teams.${TEAM}.activeEnvironment` }, phase: "commit", committed: true },
    { name: "commit: deployed, not yet recorded as committed", killAt: { kind: "progress", step: "commit" }, phase: "commit", committed: true },
  ];

  it.each(killPoints)("killed at $name: the next command rolls back to a consistent state, 0 failed requests", async ({ killAt, phase, percent, committed }) => {
    expect(await h.servedBy(TEAM)).toBe("blue");
    const load = startLoad();
    let switchId: string;
    try {
      const entry = await switchKilledAt(killAt);
      switchId = entry.id;
      expect(entry).toMatchObject({ team: TEAM, from: "blue", to: "green", phase, committed: false });
      if (percent !== undefined) expect(await weights()).toEqual({ blue: 100 - percent, green: percent });

      // While the dead holder's lease is live, the next command refuses and changes nothing.
      const lease = await h.coordination.leases.show(`team:${TEAM}`);
      if (lease && lease.expiresAt.getTime() - Date.now() > 500) {
        const refused = await h.orchestrator({ stack: h.freshStack() }).recoverInterrupted(TEAM, { actor: "too-early" }).then(() => undefined, (e: unknown) => e);
        expect(refused).toBeInstanceOf(LeaseHeld);
        expect(await h.coordination.journalOpen(TEAM)).toEqual([expect.objectContaining({ id: entry.id, phase })]);
      }

      const reports = await nextCommand();
      expect(reports.map((r) => [r.id, r.outcome])).toEqual([[entry.id, "rolled_back"]]);
    } finally {
      await load.stop();
    }
    expectNoFailedRequest(load.result);
    await expectConsistentOnSource(switchId, committed === true);
  }, 120_000);

  it("killed again in the recovery's own rollback: the next command, even with --resume, finishes the rollback", async () => {
    const load = startLoad();
    let switchId: string;
    try {
      const entry = await switchKilledAt({ kind: "traffic", percent: 50 });
      switchId = entry.id;
      // The first recovery runs in a child too, once the lease has run out, and is killed in
      // its rollback's `up` (weights already back on blue, config restored, not deployed).
      await waitForLeaseExpiry();
      const recovery = await startChild({ recover: { team: TEAM, actor: "oncall-first" }, killAt: { kind: "stack", op: "up" } });
      await recovery.waitFor("the recovery's up", (e) => e.killPoint === true);
      expect(await recovery.sigkill()).toBe("SIGKILL");
      expect(await h.coordination.journalOpen(TEAM)).toEqual([expect.objectContaining({ id: entry.id, phase: "rollback" })]);
      expect(await weights()).toEqual({ blue: 100, green: 0 });

      // A rollback was under way: --resume must not turn it into a switch to the target.
      const reports = await nextCommand({ resume: true });
      expect(reports.map((r) => [r.id, r.outcome])).toEqual([[entry.id, "rolled_back"]]);
    } finally {
      await load.stop();
    }
    expectNoFailedRequest(load.result);
    await expectConsistentOnSource(switchId, false);
  }, 120_000);

  it("--resume after a kill at 25 %: the next command finishes the switch (100 % on the target, audited completed), 0 failed requests", async () => {
    expect(await activeNow()).toBe("blue");
    const load = startLoad();
    let report: SwitchReport;
    try {
      const entry = await switchKilledAt({ kind: "traffic", percent: 25 });
      const reports = await nextCommand({ resume: true });
      expect(reports.map((r) => [r.id, r.outcome])).toEqual([[entry.id, "completed"]]);
      report = reports[0];
      load.resetColours();
      await new Promise((r) => setTimeout(r, 500));
      expect(Object.keys(load.result.byColour)).toEqual(["green"]);
    } finally {
      await load.stop();
    }
    expectNoFailedRequest(load.result);
    expect(report.steps.map((s) => s.percent)).toEqual([5, 10, 25, 50, 100]);
    expect(await h.servedBy(TEAM)).toBe("green");
    expect(await weights()).toEqual({ blue: 1, green: 100 });
    const stack = h.freshStack();
    expect(await stack.getConfig(`teams.${TEAM}.activeEnvironment`)).toBe("green");
    expect(await stack.getConfig(`teams.${TEAM}.switchRecord.id`)).toBe(report.id);
    expect(await h.coordination.journalOpen(TEAM)).toEqual([]);
    expect((await switchRows(report.id)).map((r) => r.outcome)).toEqual(["completed"]);
    await expectDeployedAsConfigured();
  }, 120_000);

  it("--resume after a kill in pre-flight: the switch runs again from the pre-flight (backup, sync, stage) and completes", async () => {
    const from = await activeNow();
    const to = otherColour(from);
    // A change on the source that only the pre-flight sync carries to the target.
    const marker = `userContent/marker-${Date.now()}.txt`;
    fs.writeFileSync(path.join(h.homeOf(TEAM, from), marker), "made before the switch\n");
    const load = startLoad();
    let report: SwitchReport;
    try {
      const entry = await switchKilledAt({ kind: "progress", step: "preflight", messageIncludes: "verified" }, to);
      expect(entry.phase).toBe("preflight");
      expect(fs.existsSync(path.join(h.homeOf(TEAM, to), marker))).toBe(false);
      const reports = await nextCommand({ resume: true });
      expect(reports.map((r) => [r.id, r.outcome])).toEqual([[entry.id, "completed"]]);
      report = reports[0];
    } finally {
      await load.stop();
    }
    expectNoFailedRequest(load.result);
    expect(report.backupId).toBeDefined();
    expect(Object.keys(report.timings)).toEqual(expect.arrayContaining(["backup_s", "sync_s", "preview_s", "stage_up_s", "health_s"]));
    expect(fs.readFileSync(path.join(h.homeOf(TEAM, to), marker), "utf8")).toBe("made before the switch\n");
    expect(await h.servedBy(TEAM)).toBe(to);
    expect(await h.freshStack().getConfig(`teams.${TEAM}.switchRecord.backupId`)).toBe(report.backupId);
    expect((await switchRows(report.id)).map((r) => r.outcome)).toEqual(["completed"]);
    await expectDeployedAsConfigured();
  }, 120_000);

  it("--resume after a kill in the commit (activeEnvironment written, not deployed): commits without shifting again", async () => {
    const from = await activeNow();
    const to = otherColour(from);
    const load = startLoad();
    let report: SwitchReport;
    let events: string[];
    try {
      const entry = await switchKilledAt({ kind: "stack", op: "setConfig", path: `teams.${TEAM}.activeEnvironment` }, to);
      expect(entry).toMatchObject({ phase: "commit", committed: false, targetPercent: 100 });
      await waitForLeaseExpiry();
      const child = await startChild({ recover: { team: TEAM, actor: "oncall-next", resume: true } });
      const reports = await reportOf(child, "the resumed commit");
      expect(reports.map((r) => [r.id, r.outcome])).toEqual([[entry.id, "completed"]]);
      report = reports[0];
      events = child.events.filter((e) => e.kind === "traffic").map((e) => String(e.percent));
    } finally {
      await load.stop();
    }
    expectNoFailedRequest(load.result);
    // No shift again: traffic was already on the target and stays there; no step was re-run.
    expect(report.steps).toEqual([]);
    expect(events.every((p) => p === "100")).toBe(true);
    expect(Object.keys(report.timings)).toEqual(expect.arrayContaining(["health_s", "commit_up_s"]));
    expect(await h.servedBy(TEAM)).toBe(to);
    expect(await weights()).toEqual({ [from]: 1, [to]: 100 });
    expect(await activeNow()).toBe(to);
    expect(await h.coordination.journalOpen(TEAM)).toEqual([]);
    expect((await switchRows(report.id)).map((r) => r.outcome)).toEqual(["completed"]);
    await expectDeployedAsConfigured();
  }, 120_000);

  it("a live switch is never taken for a killed one: its lease is kept while the target's health wait outlasts the TTL", async () => {
    const from = await activeNow();
    const to = otherColour(from);
    // The target answers 500 until told otherwise, so the stage waits for its health for
    // several lease TTLs.
    const target = h.backend(TEAM, to);
    target.mode = "error";
    const load = startLoad();
    let reports: SwitchReport[];
    try {
      const child = await startChild({ request: { team: TEAM, to, reason: "slow start", actor: "jenkins-live", mode: "force" } });
      await child.waitFor("the health wait", (e) => e.kind === "progress" && e.step === "stage" && String(e.message).includes("waiting until it is healthy"));
      // Meanwhile, for 2.5 TTLs, the next command keeps finding the switch's holder live.
      const until = Date.now() + 2.5 * LEASE_TTL_SECONDS * 1000;
      let refusals = 0;
      while (Date.now() < until) {
        const err = await h.orchestrator({ stack: h.freshStack() }).recoverInterrupted(TEAM, { actor: "impatient" }).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(LeaseHeld);
        expect((err as LeaseHeld).holder).toBe("jenkins-live");
        refusals++;
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(refusals).toBeGreaterThan(5);
      target.mode = "healthy";
      reports = await reportOf(child, "the live switch");
    } finally {
      target.mode = "healthy";
      await load.stop();
    }
    expect(reports).toEqual([expect.objectContaining({ from, to, outcome: "completed" })]);
    expectNoFailedRequest(load.result);
    expect(await h.servedBy(TEAM)).toBe(to);
    expect(await h.coordination.journalOpen(TEAM)).toEqual([]);
    await expectDeployedAsConfigured();
  }, 120_000);
});
