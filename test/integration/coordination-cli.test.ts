import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { AuditLog } from "../../automation/coordination/audit";
import { Database } from "../../automation/coordination/db";
import { LeaseStore } from "../../automation/coordination/lease";
import { PROJECT_DIR } from "../support/stacks";
import { TestPostgres, startTestPostgres } from "../support/postgres";
import { freePort } from "../support/tools";

const CLI = path.join(PROJECT_DIR, "bin", "jenkins-ha.js");
const execFileAsync = promisify(execFile);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as on-call and Jenkins run it: its own process, the database from the environment. */
async function cli(args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync("node", [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("jenkins-ha db / lock / audit / budget on a real PostgreSQL", () => {
  let pg: TestPostgres;
  let db: Database;
  let env: Record<string, string>;
  beforeAll(async () => {
    pg = await startTestPostgres();
    db = new Database(pg.url);
    env = { JENKINS_HA_DATABASE_URL: pg.url };
  });
  afterAll(async () => {
    await db?.close();
    await pg?.stop();
  });

  it("db migrate on an up-to-date schema changes nothing", async () => {
    const result = await cli(["--json", "db", "migrate"], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ applied: [], alreadyApplied: [1, 2, 3] });
  });

  it("lock show lists held leases; lock release needs --force and is audited in the same transaction", async () => {
    const lease = await new LeaseStore(db).acquire("team:ma", "switch-42", 300);
    const shown = await cli(["--json", "lock", "show", "--team", "ma"], env);
    expect(JSON.parse(shown.stdout)).toEqual([expect.objectContaining({ name: "team:ma", holder: "switch-42", token: lease.token })]);

    const refused = await cli(["lock", "release", "--team", "ma", "--reason", "stuck switch"], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("add --force to confirm");
    expect(await new LeaseStore(db).show("team:ma")).toBeDefined();

    const released = await cli(["lock", "release", "--force", "--team", "ma", "--reason", "stuck switch", "--actor", "oncall-anna"], env);
    expect(released.code).toBe(0);
    expect(released.stdout).toContain("released team:ma (was held by switch-42");
    expect(await new LeaseStore(db).show("team:ma")).toBeUndefined();
    const overrides = await new AuditLog(db).query({ team: "ma", operation: "override" });
    expect(overrides).toEqual([
      expect.objectContaining({ actor: "oncall-anna", reason: "stuck switch", outcome: "released", metadata: { lock: "team:ma", holder: "switch-42", token: lease.token } }),
    ]);
  });

  it("audit prints the trail (JSON lines with --json) and the compliance report per team", async () => {
    const log = new AuditLog(db);
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000);
    await log.record({ operation: "switch", team: "tw", actor: "jenkins", reason: "release", from: "blue", to: "green", outcome: "completed", startedAt: at(120), finishedAt: at(110), metadata: {} });
    await log.record({ operation: "switch", team: "tw", actor: "jenkins", reason: "again", from: "green", to: "blue", outcome: "refused", startedAt: at(100), finishedAt: at(100), metadata: { budget: { switchesLastHour: 2 } } });
    await log.record({ operation: "heal:restart_container", team: "tw", actor: "healer", reason: "3 failed probes", outcome: "done", startedAt: at(50), finishedAt: at(49), metadata: {} });
    await log.record({ operation: "rollback", team: "tw", actor: "oncall", reason: "bad plugin", from: "green", to: "blue", outcome: "completed", startedAt: at(40), finishedAt: at(39), metadata: {} });
    await log.record({ operation: "switch", team: "old", actor: "jenkins", reason: "long ago", outcome: "completed", startedAt: at(60 * 24 * 3), finishedAt: at(60 * 24 * 3), metadata: {} });

    const lines = (await cli(["--json", "audit", "--team", "tw", "--since", "24h"], env)).stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.operation)).toEqual(["switch", "switch", "heal:restart_container", "rollback"]);
    expect(lines[0]).toMatchObject({ team: "tw", from: "blue", to: "green", outcome: "completed", actor: "jenkins" });

    const human = await cli(["audit", "--team", "tw", "--since", "45m"], env);
    expect(human.stdout.trim().split("\n")).toEqual([expect.stringMatching(/ tw +rollback +completed +green->blue +by oncall: bad plugin$/)]);

    const report = JSON.parse((await cli(["--json", "audit", "--report", "--since", "24h"], env)).stdout) as { teams: Array<Record<string, unknown>> };
    expect(report.teams.find((t) => t.team === "tw")).toEqual({ team: "tw", switches: 1, rollbacks: 1, healActions: 1, budgetRefusals: 1, emergencyStops: 0, overrides: 0 });
    expect(report.teams.find((t) => t.team === "old")).toBeUndefined();

    const bad = await cli(["audit", "--since", "yesterday"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--since 'yesterday' is not a duration; use e.g. 30m, 24h, 7d");
  });

  it("budget: the 3rd switch within an hour is refused with the time it is allowed, the same from two processes", async () => {
    const log = new AuditLog(db);
    const first = new Date(Date.now() - 50 * 60_000);
    for (const startedAt of [first, new Date(Date.now() - 35 * 60_000)]) {
      await log.record({ operation: "switch", team: "ba", actor: "jenkins", reason: "r", outcome: "completed", startedAt, finishedAt: startedAt, metadata: {} });
    }
    const [a, b] = await Promise.all([cli(["--json", "budget", "--team", "ba"], env), cli(["--json", "budget", "--team", "ba"], env)]);
    for (const result of [a, b]) {
      expect(result.code).toBe(4);
      const proof = JSON.parse(result.stdout) as { allowed: boolean; reason: string; allowedAt: string; switchesLastHour: number };
      expect(proof).toMatchObject({ team: "ba", allowed: false, switchesLastHour: 2 });
      expect(proof.reason).toContain("2 switches in the last hour (max 2)");
      expect(Math.abs(new Date(proof.allowedAt).getTime() - (first.getTime() + 3_600_000))).toBeLessThan(2000);
    }
    const devops = await cli(["budget", "--team", "devops"], env);
    expect(devops.code).toBe(0);
    expect(devops.stdout).toContain("devops: a switch is allowed");
  });

  it("refuses with 'manual mode' when the database is unreachable, changing nothing", async () => {
    const deadUrl = `postgres://postgres@127.0.0.1:${await freePort()}/jenkins_coordination`;
    const result = await cli(["lock", "release", "--force", "--team", "ma", "--reason", "x"], { JENKINS_HA_DATABASE_URL: deadUrl });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^error: coordination database unreachable: manual mode/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("with no URL configured, starts an embedded PostgreSQL in the state folder and uses it", async () => {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-state-"));
    fs.chmodSync(state, 0o755);
    const local = { JENKINS_HA_DATABASE_URL: undefined, JENKINS_HA_STATE_DIR: state };
    try {
      const none = await cli(["lock", "show"], local);
      expect(none.code).toBe(3);
      expect(none.stderr).toContain("run 'jenkins-ha db local start'");
      const port = await freePort();
      const started = await cli(["--json", "db", "local", "start", "--port", String(port)], local);
      expect(started.code).toBe(0);
      expect(JSON.parse(started.stdout)).toEqual({ url: `postgres://postgres@127.0.0.1:${port}/jenkins_coordination`, started: true });
      expect(fs.existsSync(path.join(state, "postgres", "data", "PG_VERSION"))).toBe(true);
      const again = await cli(["--json", "db", "local", "start", "--port", String(port)], local);
      expect(JSON.parse(again.stdout).started).toBe(false);
      const release = await cli(["lock", "release", "--force", "--team", "devops", "--reason", "first try"], local);
      expect(release.stdout).toContain("team:devops was not held; audited");
      const audit = await cli(["--json", "audit"], local);
      expect(JSON.parse(audit.stdout.trim())).toMatchObject({ operation: "override", team: "devops", reason: "first try" });
    } finally {
      const stopped = await cli(["--json", "db", "local", "stop"], local);
      expect(JSON.parse(stopped.stdout)).toEqual({ stopped: true });
      fs.rmSync(state, { recursive: true, force: true });
    }
  });
});
