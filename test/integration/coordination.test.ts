import { spawn } from "child_process";
import * as path from "path";
import { Client } from "pg";
import { AuditLog } from "../../automation/coordination/audit";
import { DEFAULT_BREAKER, budgetVerdict } from "../../automation/coordination/budget";
import { Database } from "../../automation/coordination/db";
import { CoordinationUnavailable, LeaseHeld, StaleFencingToken } from "../../automation/coordination/errors";
import { LeaseStore } from "../../automation/coordination/lease";
import { migrate } from "../../automation/coordination/migrate";
import { PgCoordination } from "../../automation/coordination/store";
import { TestPostgres, startTestPostgres } from "../support/postgres";

const limits = { maxSwitchesPerHour: 2, maxSwitchesPerDay: 5, cooldownMinutes: 30, ...DEFAULT_BREAKER };
const HOLDER = path.join(__dirname, "..", "support", "lease-holder.ts");

describe("coordination store on a real PostgreSQL", () => {
  let pg: TestPostgres;
  let db: Database;
  beforeAll(async () => {
    pg = await startTestPostgres();
    db = new Database(pg.url, { max: 8 });
  });
  afterAll(async () => {
    await db?.close();
    await pg?.stop();
  });

  it("re-applying migrations is a no-op", async () => {
    const again = await migrate(db);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toEqual([1, 2, 3]);
    const tables = await db.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    expect(tables.map((t) => t.tablename)).toEqual(
      expect.arrayContaining(["jenkins_coordination", "environment_state", "coordination_locks", "deployment_audit", "switch_journal", "heal_flags", "switch_requests"]),
    );
  });

  it("enforces least privilege: reader cannot write, healer cannot take the platform lock, audit is append-only", async () => {
    const reader = new Database(pg.roleUrl("reader"));
    const healer = new Database(pg.roleUrl("healer"));
    const orchestrator = new Database(pg.roleUrl("orchestrator"));
    try {
      await expect(reader.query("INSERT INTO heal_flags (team, updated_by) VALUES ('x', 'r')")).rejects.toThrow(/permission denied/);
      expect(await reader.query("SELECT count(*) FROM deployment_audit")).toHaveLength(1);
      await expect(new LeaseStore(healer).acquire("platform", "healer-1", 5)).rejects.toThrow(/row-level security/);
      const teamLease = await new LeaseStore(healer).acquire("team:priv", "healer-1", 5);
      expect(teamLease.token).toBeGreaterThan(0);
      // A switch the healer asks for runs the orchestrator's code on the healer's connection:
      // when it completes, the audit row and the team's colour are recorded (both, at once).
      const healerStore = new PgCoordination(healer, limits);
      for (const to of ["green", "blue"] as const) {
        await healerStore.audit({ operation: "switch", team: "priv", actor: "healer:h1", reason: "auto-heal: r", from: to === "green" ? "blue" : "green", to, outcome: "completed", startedAt: new Date(), finishedAt: new Date(), metadata: { mode: "auto-heal" } });
      }
      expect(await reader.query("SELECT active_environment, updated_by FROM jenkins_coordination WHERE team = 'priv'")).toEqual([{ active_environment: "blue", updated_by: "healer:h1" }]);
      await expect(healer.query("DELETE FROM jenkins_coordination")).rejects.toThrow(/permission denied/);
      await expect(reader.query("UPDATE jenkins_coordination SET active_environment = 'green'")).rejects.toThrow(/permission denied/);
      await expect(reader.query("INSERT INTO jenkins_coordination (team, active_environment, updated_by) VALUES ('rdr', 'blue', 'r')")).rejects.toThrow(/permission denied/);
      await expect(new PgCoordination(reader, limits).audit({ operation: "switch", team: "rdr", actor: "r", reason: "r", from: "blue", to: "green", outcome: "completed", startedAt: new Date(), finishedAt: new Date(), metadata: {} })).rejects.toThrow(/permission denied/);
      await expect(new LeaseStore(healer).acquire("platform", "healer-1", 5)).rejects.toThrow(/row-level security/);
      // Both or neither: without the colour, no "completed" row is left to count against the budget.
      await db.query("REVOKE INSERT, UPDATE ON jenkins_coordination FROM healer");
      try {
        await expect(healerStore.audit({ operation: "switch", team: "half", actor: "healer:h1", reason: "r", from: "blue", to: "green", outcome: "completed", startedAt: new Date(), finishedAt: new Date(), metadata: {} })).rejects.toThrow(/permission denied/);
      } finally {
        await db.query("GRANT INSERT, UPDATE ON jenkins_coordination TO healer");
      }
      expect(await db.query("SELECT id FROM deployment_audit WHERE team = 'half'")).toEqual([]);
      await new AuditLog(orchestrator).record({ operation: "switch", team: "priv", actor: "t", reason: "r", outcome: "completed", startedAt: new Date(), finishedAt: new Date(), metadata: {} });
      await expect(orchestrator.query("UPDATE deployment_audit SET reason = 'x'")).rejects.toThrow(/permission denied|append-only/);
      await expect(healer.query("DELETE FROM deployment_audit")).rejects.toThrow(/permission denied|append-only/);
      // even with a table grant, only the owner may change history
      await db.query("GRANT UPDATE ON deployment_audit TO orchestrator");
      await expect(orchestrator.query("UPDATE deployment_audit SET reason = 'x'")).rejects.toThrow(/append-only/);
      await db.query("REVOKE UPDATE ON deployment_audit FROM orchestrator");
    } finally {
      await Promise.all([reader.close(), healer.close(), orchestrator.close()]);
    }
  });

  it("takes a stack lease per Pulumi stack (also for the healer's switches); other lock names are refused", async () => {
    const healer = new Database(pg.roleUrl("healer"));
    try {
      const stack = await new LeaseStore(healer).acquire("stack:acme/jenkins-ha/prod", "healer-1", 5);
      await expect(new LeaseStore(db).acquire("stack:acme/jenkins-ha/prod", "orchestrator-1", 5)).rejects.toThrow(/held by healer-1/);
      expect(await new LeaseStore(healer).release(stack)).toBe(true);
      for (const bad of ["stack:", "stack:bad name", "stacks:prod", "team:Bad"]) {
        await expect(new LeaseStore(db).acquire(bad, "x", 5)).rejects.toThrow(/coordination_locks_lock_name_check/);
      }
    } finally {
      await healer.close();
    }
  });

  it("50 concurrent acquirers on separate connections: exactly one wins; other teams are not blocked", async () => {
    const clients = await Promise.all(Array.from({ length: 50 }, () => Promise.resolve(new Database(pg.url, { max: 1 }))));
    try {
      const results = await Promise.allSettled(clients.map((c, i) => new LeaseStore(c).acquire("team:race", `contender-${i}`, 30)));
      const winners = results.filter((r) => r.status === "fulfilled");
      expect(winners).toHaveLength(1);
      const losers = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(losers.every((l) => l.reason instanceof LeaseHeld)).toBe(true);
      const other = await Promise.all(["team:aa", "team:bb", "team:cc"].map((n, i) => new LeaseStore(clients[i]).acquire(n, "x", 30)));
      expect(other.map((l) => l.name)).toEqual(["team:aa", "team:bb", "team:cc"]);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it("a SIGKILLed holder's lease is taken over after its TTL, and its old token is refused", async () => {
    // node itself with tsx as a loader (not the tsx launcher, which would forward the
    // signal to a grandchild): the SIGKILL hits the process that holds the lease.
    const child = spawn(process.execPath, ["--import", "tsx", HOLDER, pg.url, "team:crash", "2"], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout!.once("data", (d: Buffer) => resolve(d.toString()));
      child.once("exit", (code) => reject(new Error(`lease holder exited (${code}) before taking the lease`)));
    });
    const old = JSON.parse(line) as { name: string; holder: string; token: number; expiresAt: string };
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const leases = new LeaseStore(db);
    await expect(leases.acquire("team:crash", "successor", 30)).rejects.toBeInstanceOf(LeaseHeld);
    await new Promise((r) => setTimeout(r, 2200));
    const taken = await leases.acquire("team:crash", "successor", 30);
    expect(taken.token).toBeGreaterThan(old.token);
    const stale = { ...old, expiresAt: new Date(old.expiresAt) };
    await expect(leases.assertFencing(stale)).rejects.toBeInstanceOf(StaleFencingToken);
    await expect(leases.renew(stale, 30)).rejects.toBeInstanceOf(StaleFencingToken);
    expect(await leases.release(stale)).toBe(false);
    await leases.assertFencing(taken);
  });

  it("refuses the 3rd switch within an hour with the time it will be allowed; holds across two processes", async () => {
    const hourAgo = (m: number) => new Date(Date.now() - m * 60_000);
    const audit = new AuditLog(db);
    for (const minutesAgo of [50, 35]) {
      await audit.record({ operation: "switch", team: "budget", actor: "t", reason: "r", outcome: "completed", startedAt: hourAgo(minutesAgo), finishedAt: hourAgo(minutesAgo), metadata: {} });
    }
    const first = new PgCoordination(db, limits);
    const second = new PgCoordination(new Database(pg.url), limits); // another process's view: state is in the DB
    for (const store of [first, second]) {
      const proof = await store.checkBudget("budget", new Date());
      expect(proof.allowed).toBe(false);
      expect(proof.reason).toMatch(/2 switches in the last hour \(max 2\)/);
      expect(Math.abs(proof.allowedAt!.getTime() - hourAgo(50).getTime() - 3_600_000)).toBeLessThan(5000);
    }
    await second.db.close();
  });

  it("database stopped mid-operation: clear error, no partial state", async () => {
    const other = await startTestPostgres();
    const store = new PgCoordination(new Database(other.url), limits);
    const lease = await store.acquireLease("team:down", "t", 30);
    await other.server.stop("SIGKILL");
    await expect(store.assertFencing(lease)).rejects.toBeInstanceOf(CoordinationUnavailable);
    await expect(store.acquireLease("team:down", "t2", 30)).rejects.toThrow(/coordination database unreachable: manual mode/);
    await store.db.close();
    await other.stop();
  });

  it("journals a switch and finds it open until finished; one open switch per team", async () => {
    const store = new PgCoordination(db, limits);
    const entry = { id: "sw-j1", team: "jt", from: "blue" as const, to: "green" as const, actor: "t", reason: "r", mode: "safe" as const, phase: "preflight" as const, targetPercent: 0, committed: false, startedAt: new Date(), token: 1, emergencyStop: false };
    await store.journalBegin(entry);
    await expect(store.journalBegin({ ...entry, id: "sw-j2" })).rejects.toThrow(/switch_journal_one_open|duplicate key/);
    await store.journalUpdate("sw-j1", { phase: "shift", targetPercent: 25 });
    expect((await store.journalOpen("jt"))[0]).toMatchObject({ id: "sw-j1", phase: "shift", targetPercent: 25 });
    expect(await store.requestEmergencyStop("jt")).toBe(1);
    expect((await store.journalOpen("jt"))[0].emergencyStop).toBe(true);
    await store.journalFinish("sw-j1", "rolled_back");
    expect(await store.journalOpen("jt")).toEqual([]);
  });

  it("the healer role upserts a colour's health in environment_state; reader may read it, not write it", async () => {
    const healer = new Database(pg.roleUrl("healer"));
    const reader = new Database(pg.roleUrl("reader"));
    const row = "SELECT healthy, evidence, checked_at FROM environment_state WHERE team = 'health' AND environment = 'green'";
    try {
      const store = new PgCoordination(healer, limits);
      const first = new Date("2026-03-01T10:00:00Z");
      const second = new Date("2026-03-01T10:02:00Z");
      await store.recordHealth({ team: "health", environment: "green", healthy: false, evidence: ["http: /login failed (502)", "docker: container running"], checkedAt: first });
      expect(await reader.query(row)).toEqual([{ healthy: false, evidence: ["http: /login failed (502)", "docker: container running"], checked_at: first }]);
      await store.recordHealth({ team: "health", environment: "green", healthy: true, evidence: ["http: /login 200 in 12 ms"], checkedAt: second });
      // The same row, updated: one row per team and colour, the latest verdict in it.
      expect(await reader.query("SELECT environment, healthy, evidence, checked_at FROM environment_state WHERE team = 'health'")).toEqual([
        { environment: "green", healthy: true, evidence: ["http: /login 200 in 12 ms"], checked_at: second },
      ]);
      const typed = await reader.query<{ t: string }>("SELECT jsonb_typeof(evidence) AS t FROM environment_state WHERE team = 'health'");
      expect(typed).toEqual([{ t: "array" }]);
      await expect(new PgCoordination(reader, limits).recordHealth({ team: "health", environment: "blue", healthy: true, evidence: [], checkedAt: second })).rejects.toThrow(/permission denied/);
      await expect(reader.query("UPDATE environment_state SET healthy = false WHERE team = 'health'")).rejects.toThrow(/permission denied/);
      expect(await reader.query(row)).toEqual([{ healthy: true, evidence: ["http: /login 200 in 12 ms"], checked_at: second }]);
    } finally {
      await Promise.all([healer.close(), reader.close()]);
    }
  });

  it("records heal actions exclusively: a second healer does not act within the recovery window", async () => {
    const a = new PgCoordination(db, limits);
    const b = new PgCoordination(new Database(pg.url), limits);
    let actions = 0;
    const act = async (store: PgCoordination) =>
      store.actExclusively("heal-team", `healer-${store === a ? "a" : "b"}`, 60, async () => {
        actions++;
        await store.auditHeal({ team: "heal-team", action: "restart_container", actor: "h", reason: "r", outcome: "done", dryRun: false, evidence: [] });
      });
    const results = await Promise.all([act(a), act(b)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await act(b)).toBe(false);
    expect(actions).toBe(1);
    await b.db.close();
  });
});

describe("switch budget (pure)", () => {
  const now = new Date("2026-11-23T12:00:00Z");
  const ago = (m: number) => new Date(now.getTime() - m * 60_000);

  it("applies the cooldown after a switch", () => {
    const v = budgetVerdict({ completed: [ago(10)], failed: [] }, limits, now);
    expect(v).toMatchObject({ allowed: false, allowedAt: ago(-20) });
    expect(v.reason).toMatch(/cooldown of 30 min/);
    expect(budgetVerdict({ completed: [ago(31)], failed: [] }, limits, now).allowed).toBe(true);
  });

  it("caps switches per day", () => {
    const v = budgetVerdict({ completed: [ago(1400), ago(1000), ago(600), ago(300), ago(100)], failed: [] }, limits, now);
    expect(v.reason).toMatch(/5 switches in the last day \(max 5\)/);
    expect(v.allowedAt).toEqual(new Date(ago(1400).getTime() + 86_400_000));
  });

  it("opens the failure breaker after 3 failures in 10 minutes, for 30 minutes", () => {
    const failed = [ago(25), ago(22), ago(20)];
    const open = budgetVerdict({ completed: [], failed }, limits, now);
    expect(open.allowed).toBe(false);
    expect(open.reason).toMatch(/failure breaker open: 3 failed switches in 10 min/);
    expect(open.allowedAt).toEqual(ago(-10));
    expect(budgetVerdict({ completed: [], failed }, limits, ago(-11)).allowed).toBe(true);
    expect(budgetVerdict({ completed: [], failed: [ago(25), ago(12), ago(0)] }, limits, now).allowed).toBe(true);
  });
});

// Referenced to make sure the pg driver is what the store uses (and loads).
void Client;
