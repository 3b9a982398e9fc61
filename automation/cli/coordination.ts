import * as os from "os";
import { Command } from "commander";
import { loadPlatformModel, readStackFile, stackFilePath } from "../../config/load";
import { TEAM_NAME_PATTERN } from "../../config/schema";
import { AuditLog, AuditRow, ComplianceRow, parseSince } from "../coordination/audit";
import { budgetLimitsFrom } from "../coordination/budget";
import { openDatabase, startLocalDatabase, stopLocalDatabase } from "../coordination/connect";
import { Database } from "../coordination/db";
import { LeaseStore } from "../coordination/lease";
import { migrate } from "../coordination/migrate";
import { PgCoordination } from "../coordination/store";
import { HeldLease } from "../switch/ports";
import { OperatorError } from "./errors";
import { PROJECT_DIR } from "./render";

interface GlobalOptions {
  json?: boolean;
  databaseUrl?: string;
}

/** Who is acting: `--actor`, else the Jenkins build (`BUILD_TAG`), else user@host. */
export function actorName(explicit?: string): string {
  return explicit ?? process.env.BUILD_TAG ?? `${os.userInfo().username}@${os.hostname()}`;
}

function lockName(opts: { team?: string; platform?: boolean }): string {
  if (opts.platform) return "platform";
  if (!opts.team) throw new OperatorError("say which lock: --team <name> or --platform");
  if (!TEAM_NAME_PATTERN.test(opts.team)) throw new OperatorError(`--team '${opts.team}' is not a valid team name (^[a-z][a-z0-9-]{1,30}$)`);
  return `team:${opts.team}`;
}

/** Opens the database for one command and always closes it. */
async function withDatabase<T>(cmd: Command, work: (db: Database, opts: GlobalOptions) => Promise<T>): Promise<T> {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  const db = openDatabase(PROJECT_DIR, opts.databaseUrl);
  try {
    return await work(db, opts);
  } finally {
    await db.close();
  }
}

function print(opts: GlobalOptions, value: unknown, human: () => string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
}

function formatLease(l: HeldLease): string {
  return `${l.name.padEnd(24)} held by ${l.holder}, token ${l.token}, until ${l.expiresAt.toISOString()}`;
}

function formatAudit(r: AuditRow): string {
  const move = r.from || r.to ? ` ${r.from ?? "?"}->${r.to ?? "?"}` : "";
  return `${r.startedAt.toISOString()}  ${(r.team ?? "-").padEnd(10)} ${r.operation.padEnd(24)} ${r.outcome.padEnd(12)}${move}  by ${r.actor}: ${r.reason}`;
}

function formatCompliance(rows: ComplianceRow[], since: string): string {
  const header = `compliance over the last ${since}\nteam        switches rollbacks heal_actions budget_refusals emergency_stops overrides`;
  const lines = rows.map(
    (r) =>
      `${r.team.padEnd(12)}${String(r.switches).padStart(8)}${String(r.rollbacks).padStart(10)}${String(r.healActions).padStart(13)}` +
      `${String(r.budgetRefusals).padStart(16)}${String(r.emergencyStops).padStart(16)}${String(r.overrides).padStart(10)}`,
  );
  return [header, ...(lines.length ? lines : ["(no activity)"])].join("\n");
}

function sinceMs(since: string): number {
  try {
    return parseSince(since);
  } catch (err) {
    throw new OperatorError(err instanceof Error ? err.message : String(err));
  }
}

/** `db`, `lock`, `audit`, `budget`: the coordination database from the command line. */
export function registerCoordinationCommands(program: Command): void {
  program.option("--database-url <url>", "coordination database (default: $JENKINS_HA_DATABASE_URL, else the local one)");

  const db = program.command("db").description("the coordination database");
  db.command("migrate")
    .description("apply the versioned schema migrations and grants (idempotent: re-running changes nothing)")
    .option("--create-roles", "create missing roles without passwords (local databases only; the CoordinationDatabase component creates them in production)")
    .action(async (opts: { createRoles?: boolean }, cmd: Command) =>
      withDatabase(cmd, async (database, g) => {
        const result = await migrate(database, { createRoles: opts.createRoles });
        print(g, result, () =>
          result.applied.length ? `applied migrations ${result.applied.join(", ")}` : `schema up to date (migrations ${result.alreadyApplied.join(", ")})`,
        );
      }),
    );
  const local = db.command("local").description("an embedded PostgreSQL in the project's state folder, for a laptop or a first try");
  local
    .command("start")
    .description("start it (detached) if it is not running, create and migrate the database, print its URL")
    .option("--port <port>", "port on 127.0.0.1", "55432")
    .action(async (opts: { port: string }, cmd: Command) => {
      const { url, started } = await startLocalDatabase(PROJECT_DIR, Number(opts.port));
      print(cmd.optsWithGlobals<GlobalOptions>(), { url, started }, () => `${started ? "started" : "already running"}: ${url}`);
    });
  local
    .command("stop")
    .description("stop the local database (its data stays in the state folder)")
    .action((_opts: unknown, cmd: Command) => {
      const stopped = stopLocalDatabase(PROJECT_DIR);
      print(cmd.optsWithGlobals<GlobalOptions>(), { stopped }, () => (stopped ? "stopped" : "not running"));
    });

  const lock = program.command("lock").description("lease locks (per team, and one platform-wide)");
  lock
    .command("show")
    .description("held leases: holder, fencing token, expiry")
    .option("--team <team>", "only this team's lock")
    .action(async (opts: { team?: string }, cmd: Command) =>
      withDatabase(cmd, async (database, g) => {
        const leases = new LeaseStore(database);
        const held = opts.team ? [await leases.show(lockName(opts))].filter((l): l is HeldLease => l !== undefined) : await leases.list();
        print(g, held, () => (held.length ? held.map(formatLease).join("\n") : "no lease is held"));
      }),
    );
  lock
    .command("release")
    .description("on-call override: remove a lease whoever holds it (audited)")
    .option("--team <team>", "the team's lock")
    .option("--platform", "the platform-wide lock")
    .option("--force", "required: this takes the lock away from a holder that may still be running")
    .option("--actor <name>", "who is doing this (default: $BUILD_TAG or user@host)")
    .requiredOption("--reason <text>", "why (goes into the audit trail)")
    .action(async (opts: { team?: string; platform?: boolean; force?: boolean; actor?: string; reason: string }, cmd: Command) => {
      const name = lockName(opts);
      if (!opts.force) {
        throw new OperatorError(`releasing ${name} takes it from its holder, whose fenced writes then fail; add --force to confirm`);
      }
      await withDatabase(cmd, async (database, g) => {
        const now = new Date();
        // Release and audit in one transaction: an override is never unrecorded.
        const removed = await database.transaction(async (client) => {
          const rows = await client.query<{ holder: string; fencing_token: string; expires_at: Date }>(
            "DELETE FROM coordination_locks WHERE lock_name = $1 RETURNING holder, fencing_token, expires_at",
            [name],
          );
          const row = rows.rows[0];
          await client.query(
            `INSERT INTO deployment_audit (operation, team, actor, reason, outcome, started_at, finished_at, metadata)
             VALUES ('override', $1, $2, $3, $4, $5, $5, $6)`,
            [
              opts.team ?? null,
              actorName(opts.actor),
              opts.reason,
              row ? "released" : "not_held",
              now,
              JSON.stringify({ lock: name, holder: row?.holder ?? null, token: row ? Number(row.fencing_token) : null }),
            ],
          );
          return row;
        });
        print(g, { lock: name, released: removed !== undefined, holder: removed?.holder ?? null }, () =>
          removed ? `released ${name} (was held by ${removed.holder}, token ${removed.fencing_token}); audited` : `${name} was not held; audited`,
        );
      });
    });

  program
    .command("audit")
    .description("the audit trail: switches, rollbacks, heal actions, overrides, emergency stops")
    .option("--team <team>", "only this team")
    .option("--since <duration>", "how far back (30m, 24h, 7d)", "24h")
    .option("--operation <op>", "only this operation (switch, rollback, override, heal:restart_container, ...)")
    .option("--report", "the compliance report instead: switches, rollbacks, heal actions, budget refusals per team")
    .action(async (opts: { team?: string; since: string; operation?: string; report?: boolean }, cmd: Command) => {
      const window = sinceMs(opts.since);
      await withDatabase(cmd, async (database, g) => {
        const log = new AuditLog(database);
        if (opts.report) {
          const rows = await log.complianceReport(window);
          print(g, { since: opts.since, teams: rows }, () => formatCompliance(rows, opts.since));
          return;
        }
        const rows = await log.query({ team: opts.team, sinceMs: window, operation: opts.operation });
        if (g.json) {
          // One JSON object per line: what a Jenkins job archives and `jq` reads.
          for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
          return;
        }
        process.stdout.write(rows.length ? `${rows.map(formatAudit).join("\n")}\n` : `no audit records in the last ${opts.since}\n`);
      });
    });

  program
    .command("budget")
    .description("a team's switch budget: switches in the last hour/day, cooldown, failure breaker")
    .requiredOption("--team <team>", "the team")
    .option("-s, --stack <name>", "stack whose switch limits apply", "prod")
    .action(async (opts: { team: string; stack: string }, cmd: Command) => {
      const model = loadPlatformModel(opts.stack, readStackFile(stackFilePath(PROJECT_DIR, opts.stack)));
      if (!model.teams.some((t) => t.name === opts.team)) {
        throw new OperatorError(`--team '${opts.team}' is not in stack '${opts.stack}'; teams: ${model.teams.map((t) => t.name).join(", ")}`);
      }
      await withDatabase(cmd, async (database, g) => {
        const proof = await new PgCoordination(database, budgetLimitsFrom(model.config.switch)).checkBudget(opts.team, new Date());
        print(g, { team: opts.team, ...proof }, () =>
          proof.allowed
            ? `${opts.team}: a switch is allowed (${proof.switchesLastHour} in the last hour, ${proof.switchesLastDay} in the last day)`
            : `${opts.team}: refused: ${proof.reason}; next allowed at ${proof.allowedAt?.toISOString()}`,
        );
        if (!proof.allowed) process.exitCode = 4;
      });
    });
}
