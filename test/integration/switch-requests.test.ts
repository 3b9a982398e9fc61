import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import { Database } from "../../automation/coordination/db";
import { ConflictingSwitchRequest, SwitchRequestQueue } from "../../automation/coordination/switch-requests";
import { QueuedSwitchRequester } from "../../automation/heal/queued-switch";
import { SwitchWaitAbandoned } from "../../automation/heal/switch-requester";
import { serveSwitchRequests, SwitchRunner } from "../../automation/switch/request-worker";
import { SwitchReport, SwitchRequest } from "../../automation/switch/orchestrator";
import { OperatorError } from "../../automation/cli/errors";
import { TestPostgres, startTestPostgres } from "../support/postgres";
import { PROJECT_DIR } from "../support/stacks";

const execFileAsync = promisify(execFile);
const CLI = path.join(PROJECT_DIR, "bin", "jenkins-ha.js");
const STACK = "it-stack";

const report = (r: SwitchRequest, outcome: SwitchReport["outcome"], reason?: string): SwitchReport => ({ id: `sw-${r.team}`, team: r.team, from: r.to === "green" ? "blue" : "green", to: r.to, outcome, reason, steps: [], timings: {} });

/**
 * The switch-request queue between the deployed healer and the switch workers, on a real
 * PostgreSQL with the least-privilege roles: who may do what, one claim per request, the
 * healer's wait (completed, refused, expired unclaimed, worker gone silent, healer
 * stopping), and `jenkins-ha switch-requests` as the Jenkins job runs it.
 */
describe("switch requests (real PostgreSQL, healer and orchestrator roles)", () => {
  let pg: TestPostgres;
  let owner: Database;
  let healerDb: Database;
  let workerDb: Database;
  let readerDb: Database;
  let healerQueue: SwitchRequestQueue;
  let workerQueue: SwitchRequestQueue;
  const logs: Array<Record<string, unknown>> = [];
  const log = (e: Record<string, unknown>) => void logs.push(e);

  beforeAll(async () => {
    pg = await startTestPostgres();
    owner = new Database(pg.url);
    healerDb = new Database(pg.roleUrl("healer"));
    workerDb = new Database(pg.roleUrl("orchestrator"));
    readerDb = new Database(pg.roleUrl("reader"));
    healerQueue = new SwitchRequestQueue(healerDb);
    workerQueue = new SwitchRequestQueue(workerDb);
  }, 60_000);

  afterAll(async () => {
    for (const db of [owner, healerDb, workerDb, readerDb]) await db?.close();
    await pg?.stop();
  });

  beforeEach(async () => {
    await owner.query("DELETE FROM switch_requests");
  });

  const submit = (team: string, to: "blue" | "green" = "green", claimWithinSeconds = 60) =>
    healerQueue.submit({ stack: STACK, team, to, reason: `auto-heal: test ${team}`, requestedBy: "healer:it", claimWithinSeconds });

  it("the healer submits, a second submit for the same colour waits on the same request, the other colour is refused with what to do", async () => {
    const first = await submit("alpha");
    expect(first).toMatchObject({ team: "alpha", to: "green", status: "pending", claimedBy: null });
    expect(first.claimDeadline.getTime() - first.requestedAt.getTime()).toBeCloseTo(60_000, -3);
    expect((await submit("alpha")).id).toBe(first.id);
    await expect(submit("alpha", "blue")).rejects.toThrow(ConflictingSwitchRequest);
    await expect(submit("alpha", "blue")).rejects.toThrow(new RegExp(`request ${first.id} to green .*switch-requests void ${first.id}`));
    // Another stack's request for the same team is its own.
    const other = await healerQueue.submit({ stack: "other", team: "alpha", to: "blue", reason: "auto-heal: x", requestedBy: "healer:it", claimWithinSeconds: 60 });
    expect(other.id).not.toBe(first.id);
  });

  it("grants: the reader only reads; the orchestrator role cannot ask for a switch, it claims, heartbeats and finishes", async () => {
    const r = await submit("beta");
    await expect(new SwitchRequestQueue(readerDb).submit({ stack: STACK, team: "gamma", to: "green", reason: "x", requestedBy: "reader", claimWithinSeconds: 60 })).rejects.toThrow(/permission denied/);
    await expect(readerDb.query("UPDATE switch_requests SET status = 'expired', finished_at = now() WHERE id = $1", [r.id])).rejects.toThrow(/permission denied/);
    expect((await new SwitchRequestQueue(readerDb).list(STACK)).map((x) => x.id)).toEqual([r.id]);
    await expect(workerDb.query("INSERT INTO switch_requests (stack, team, to_environment, reason, requested_by, claim_deadline) VALUES ('s', 'delta', 'blue', 'x', 'w', now() + interval '1 minute')")).rejects.toThrow(/permission denied/);
    const claimed = await workerQueue.claimNext(STACK, "jenkins:w1");
    expect(claimed).toMatchObject({ id: r.id, status: "running", claimedBy: "jenkins:w1" });
    expect(await workerQueue.heartbeat(r.id, "jenkins:w1")).toBe(true);
    expect(await workerQueue.heartbeat(r.id, "jenkins:w2")).toBe(false);
    expect(await workerQueue.finish(r.id, "jenkins:w2", "completed", undefined)).toBe(false);
    expect(await workerQueue.finish(r.id, "jenkins:w1", "completed", undefined, "sw-1")).toBe(true);
    expect(await workerQueue.finish(r.id, "jenkins:w1", "failed", "again")).toBe(false);
    expect(await healerQueue.get(r.id)).toMatchObject({ status: "completed", switchId: "sw-1", finishedAt: expect.any(Date) });
  });

  it("the database refuses inconsistent rows (a running request without a worker, a finished one without a time)", async () => {
    const r = await submit("eps");
    await expect(owner.query("UPDATE switch_requests SET status = 'running' WHERE id = $1", [r.id])).rejects.toThrow(/check constraint/);
    await expect(owner.query("UPDATE switch_requests SET status = 'refused', claimed_by = 'w', claimed_at = now() WHERE id = $1", [r.id])).rejects.toThrow(/check constraint/);
  });

  it("eight workers claiming at once: every request is claimed exactly once, oldest first; a request past its claim deadline is never claimed", async () => {
    const stale = await submit("old", "green", 1);
    const ids: number[] = [];
    for (const team of ["t-a", "t-b", "t-c", "t-d", "t-e"]) ids.push((await submit(team)).id);
    await owner.query("UPDATE switch_requests SET requested_at = now() - interval '10 seconds', claim_deadline = now() - interval '1 second' WHERE id = $1", [stale.id]);
    const workers = Array.from({ length: 8 }, (_, i) => `jenkins:w${i}`);
    const claims = await Promise.all(workers.map((w) => workerQueue.claimNext(STACK, w)));
    const got = claims.filter((c) => c !== undefined).map((c) => c!.id);
    expect(got.sort((a, b) => a - b)).toEqual(ids);
    expect(await healerQueue.get(stale.id)).toMatchObject({ status: "pending" });
    // The healer voids it when it looks again.
    expect(await healerQueue.reap(stale.id, 60)).toMatchObject({ status: "expired", outcomeReason: expect.stringMatching(/no switch worker claimed the request before/) });
  });

  it("a claimed request whose worker went silent is failed by the healer's reap, with what the team's next switch does", async () => {
    const r = await submit("zeta");
    await workerQueue.claimNext(STACK, "jenkins:gone");
    expect(await healerQueue.reap(r.id, 60)).toMatchObject({ status: "running" }); // fresh heartbeat: alive
    await owner.query("UPDATE switch_requests SET heartbeat_at = now() - interval '2 minutes' WHERE id = $1", [r.id]);
    const reaped = await healerQueue.reap(r.id, 60);
    expect(reaped).toMatchObject({ status: "failed", claimedBy: "jenkins:gone" });
    expect(reaped!.outcomeReason).toMatch(/switch worker jenkins:gone stopped reporting .*finishes the interrupted switch from its journal/);
    // The worker, if it was only slow, can no longer overwrite the outcome.
    expect(await workerQueue.heartbeat(r.id, "jenkins:gone")).toBe(false);
    expect(await workerQueue.finish(r.id, "jenkins:gone", "completed", undefined)).toBe(false);
  });

  it("emergency stop voids the pending requests of a team (or all), not running or finished ones", async () => {
    const a = await submit("stop-a");
    const b = await submit("stop-b");
    const running = await submit("stop-c");
    await owner.query("UPDATE switch_requests SET requested_at = requested_at - interval '1 minute' WHERE id = $1", [running.id]); // the oldest: the claim takes stop-c
    await workerQueue.claimNext(STACK, "jenkins:w");
    expect((await workerQueue.voidPending(STACK, "stop-a", "emergency stop by oncall: fire")).map((r) => r.id)).toEqual([a.id]);
    expect((await workerQueue.voidPending(STACK, undefined, "emergency stop by oncall: fire")).map((r) => r.id)).toEqual([b.id]);
    expect(await workerQueue.get(running.id)).toMatchObject({ status: "running" });
    expect(await workerQueue.claimNext(STACK, "jenkins:w")).toBeUndefined();
  });

  it("healer and worker end to end: completed, refused by a gate, failed, an unknown team refused; each outcome reaches the healer", async () => {
    const calls: SwitchRequest[] = [];
    const runner: SwitchRunner = {
      async switch(r) {
        calls.push(r);
        if (r.team === "gated") throw new OperatorError("switch budget exhausted: 2 switches in the last hour");
        if (r.team === "broken") throw new Error("pulumi up failed: connection reset");
        return report(r, "completed");
      },
    };
    const stop = new AbortController();
    const worker = serveSwitchRequests({ queue: workerQueue, stack: STACK, worker: "jenkins:it", knownTeams: ["ok", "gated", "broken"], runner: async () => runner, progress: () => undefined, signal: stop.signal, pollMs: 50, heartbeatMs: 100 });
    const requester = new QueuedSwitchRequester({ queue: healerQueue, stack: STACK, requestedBy: "healer:it", claimWithinSeconds: 30, staleAfterSeconds: 30, log, pollMs: 50 });
    try {
      const results = await Promise.all(["ok", "gated", "broken", "nobody"].map((t) => requester.switchTo(t, "green", `auto-heal: ${t} keeps failing`)));
      expect(results.map((r) => r.outcome)).toEqual(["completed", "refused", "failed", "refused"]);
      expect(results[1].reason).toMatch(/switch budget exhausted.*run by jenkins:it/);
      expect(results[2].reason).toMatch(/connection reset/);
      expect(results[3].reason).toMatch(/team 'nobody' is not in stack 'it-stack'/);
      // The orchestrator got the request as the healer asked for it, in auto-heal mode, with both names in the actor.
      expect(calls.find((c) => c.team === "ok")).toEqual({ team: "ok", to: "green", reason: "auto-heal: ok keeps failing", actor: "healer:it via jenkins:it", mode: "auto-heal" });
      expect(calls.map((c) => c.team).sort()).toEqual(["broken", "gated", "ok"]);
    } finally {
      stop.abort();
      await worker;
    }
    const rows = await owner.query<{ team: string; status: string; switch_id: string | null }>("SELECT team, status, switch_id FROM switch_requests ORDER BY team");
    expect(rows).toEqual([
      { team: "broken", status: "failed", switch_id: null },
      { team: "gated", status: "refused", switch_id: null },
      { team: "nobody", status: "refused", switch_id: null },
      { team: "ok", status: "completed", switch_id: "sw-ok" },
    ]);
  });

  it("the worker heartbeats through a long switch, so the healer never takes it for a dead one", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const runner: SwitchRunner = { switch: async (r) => (await held, report(r, "completed")) };
    const worker = serveSwitchRequests({ queue: workerQueue, stack: STACK, worker: "jenkins:slow", knownTeams: ["slow"], runner: async () => runner, progress: () => undefined, once: false, maxRequests: 1, pollMs: 50, heartbeatMs: 200 });
    const requester = new QueuedSwitchRequester({ queue: healerQueue, stack: STACK, requestedBy: "healer:it", claimWithinSeconds: 30, staleAfterSeconds: 1, log, pollMs: 100 });
    const waiting = requester.switchTo("slow", "blue", "auto-heal: slow");
    await new Promise((r) => setTimeout(r, 3000)); // three times the stale limit
    release();
    expect(await waiting).toEqual({ outcome: "completed", reason: expect.stringMatching(/no reason recorded \(request \d+, run by jenkins:slow\)/) });
    expect((await worker).map((s) => s.recorded)).toEqual([true]);
  });

  it("nobody claims: the request expires at its deadline and the healer is told which job should have run it", async () => {
    const requester = new QueuedSwitchRequester({ queue: healerQueue, stack: STACK, requestedBy: "healer:it", claimWithinSeconds: 1, staleAfterSeconds: 30, log, pollMs: 100 });
    const started = Date.now();
    const result = await requester.switchTo("lonely", "green", "auto-heal: lonely");
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(result.outcome).toBe("refused");
    expect(result.reason).toMatch(/no switch worker claimed the request before .*Infrastructure\/Auto-Heal-Switch job .*running on an ops agent/);
    // A worker that comes later does not start it.
    expect(await workerQueue.claimNext(STACK, "jenkins:late")).toBeUndefined();
  });

  it("the healer stopping abandons the wait without an outcome; the request stays with its worker", async () => {
    const stop = new AbortController();
    const requester = new QueuedSwitchRequester({ queue: healerQueue, stack: STACK, requestedBy: "healer:it", claimWithinSeconds: 60, staleAfterSeconds: 30, log, pollMs: 100, signal: stop.signal });
    const waiting = requester.switchTo("left", "green", "auto-heal: left");
    setTimeout(() => stop.abort(), 300);
    await expect(waiting).rejects.toThrow(SwitchWaitAbandoned);
    expect((await healerQueue.open(STACK, "left"))?.status).toBe("pending");
  });

  describe("jenkins-ha switch-requests (the CLI the Auto-Heal-Switch job runs)", () => {
    const cli = async (args: string[]) => {
      try {
        const { stdout, stderr } = await execFileAsync("node", [CLI, "--database-url", pg.roleUrl("orchestrator"), ...args], { timeout: 120_000, env: { ...process.env, PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` } });
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    };

    it("serve --once with an empty queue ends at once without touching Pulumi", async () => {
      const r = await cli(["switch-requests", "serve", "--stack", "prod", "--once"]);
      expect(r).toMatchObject({ code: 0 });
      expect(r.stdout).toContain("no switch request to serve on stack prod");
    }, 120_000);

    it("serve --once where the Pulumi workspace cannot start: the request is refused with why, so the healer escalates at once", async () => {
      const r1 = await healerQueue.submit({ stack: "prod", team: "devops", to: "green", reason: "auto-heal: devops down", requestedBy: "healer:it", claimWithinSeconds: 120 });
      const r = await cli(["switch-requests", "serve", "--stack", "prod", "--once", "--actor", "jenkins:it-build-1", "--json"]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.at(-1)).toMatchObject({ step: "served", requests: [{ id: r1.id, team: "devops", status: "refused", recorded: true }] });
      const row = await healerQueue.get(r1.id);
      expect(row).toMatchObject({ status: "refused", claimedBy: "jenkins:it-build-1" });
      expect(row!.outcomeReason).toBe(
        "this worker cannot start the switch orchestrator: the Pulumi CLI is not on this machine's PATH (spawn pulumi ENOENT); install it where switches run (https://www.pulumi.com/docs/install/), log in to the backend (PULUMI_BACKEND_URL) and provide PULUMI_CONFIG_PASSPHRASE[_FILE]",
      );
    }, 120_000);

    it("list shows the requests with their outcome; void ends an open one and refuses a finished one", async () => {
      const open = await healerQueue.submit({ stack: "prod", team: "ma", to: "blue", reason: "auto-heal: ma", requestedBy: "healer:it", claimWithinSeconds: 120 });
      const listed = await cli(["switch-requests", "list", "--stack", "prod"]);
      expect(listed.stdout).toMatch(new RegExp(`#${open.id} .* ma -> blue pending +asked by healer:it`));
      const voided = await cli(["switch-requests", "void", String(open.id), "--reason", "on-call is on it"]);
      expect(voided.code).toBe(0);
      expect(voided.stdout).toMatch(/expired .*voided by on-call: on-call is on it/);
      const again = await cli(["switch-requests", "void", String(open.id), "--reason", "twice"]);
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(new RegExp(`switch request ${open.id} is not open`));
      const bad = await cli(["switch-requests", "serve", "--max-requests", "0"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--max-requests '0' must be a positive whole number/);
    }, 120_000);
  });
});
