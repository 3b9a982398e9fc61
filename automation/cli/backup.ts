import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { loadPlatformModel, readStackFile, stackFilePath } from "../../config/load";
import { PlatformModel, TeamModel, otherColour } from "../../config/model";
import { ConfigValidationError } from "../../config/problems";
import { COLOURS, Colour } from "../../config/schema";
import { closest } from "../../config/suggest";
import { nextCronTime, parseCron } from "../../config/cron";
import { AuditRecorder, defaultActor } from "../backup/audit";
import { selectionFor } from "../backup/critical-set";
import { VerificationFailed } from "../backup/errors";
import { answers } from "../backup/jenkins-client";
import { metricsFileName, writeBackupMetrics } from "../backup/metrics";
import { volumeHomePath } from "../backup/paths";
import { newestVerifiedId, pruneBackups, verificationOf } from "../backup/prune";
import { restoreBackup } from "../backup/restore";
import { runBackup } from "../backup/run";
import { TeamStore } from "../backup/store";
import { syncHomes } from "../backup/sync";
import { verifyBackup } from "../backup/verify";
import { OperatorError } from "./errors";
import { PROJECT_DIR } from "./render";

/**
 * `jenkins-ha backup run|verify|restore|prune|list|schedule` and `jenkins-ha sync`.
 * Every command works on plain directories too (`--home`, `--store`, `--from-home`,
 * `--to-home`): tests and DR drills; without them, homes are the colours' docker volumes
 * and the store is `backup.nfsPath`. Team, defaults and the active colour come from the
 * stack config (`--stack`, default prod).
 */

interface CommonOptions {
  team: string;
  stack: string;
  projectDir: string;
  store?: string;
  metricsFile?: string;
}

interface Context {
  model: PlatformModel;
  team: TeamModel;
  store: TeamStore;
  json: boolean;
  audit?: AuditRecorder;
  close(): Promise<void>;
}

function parseColour(value: string, option: string): Colour {
  if ((COLOURS as readonly string[]).includes(value)) return value as Colour;
  throw new OperatorError(`${option} '${value}' is not a colour — use one of: ${COLOURS.join(", ")}`);
}

function loadModel(stack: string, projectDir: string): PlatformModel {
  const file = stackFilePath(projectDir, stack);
  if (!fs.existsSync(file)) throw new OperatorError(`stack config ${file} not found — pass --stack <name> (a Pulumi.<name>.yaml in --project-dir ${projectDir})`);
  try {
    return loadPlatformModel(stack, readStackFile(file));
  } catch (err) {
    if (err instanceof ConfigValidationError) throw new OperatorError(err.message, { exitCode: 1 });
    throw err;
  }
}

async function context(opts: CommonOptions, cmd: Command): Promise<Context> {
  const model = loadModel(opts.stack, path.resolve(opts.projectDir));
  const team = model.teams.find((t) => t.name === opts.team);
  if (!team) {
    const names = model.teams.map((t) => t.name);
    const hint = closest(opts.team, names);
    throw new OperatorError(`--team: unknown team '${opts.team}' in stack '${opts.stack}'${hint ? ` (did you mean '${hint}'?)` : ""} — teams: ${names.join(", ")}`);
  }
  const storeRoot = opts.store ?? model.config.backup.nfsPath;
  let audit: AuditRecorder | undefined;
  let close: () => Promise<void> = async () => undefined;
  const url = process.env.JENKINS_HA_DATABASE_URL;
  if (url) {
    // Only when a coordination database is configured; imported lazily so plain-dir runs never load pg.
    const [{ Database }, { AuditLog }] = await Promise.all([import("../coordination/db"), import("../coordination/audit")]);
    const db = new Database(url);
    audit = new AuditLog(db);
    close = () => db.close();
  }
  return { model, team, store: new TeamStore(storeRoot, team.name), json: cmd.optsWithGlobals<{ json?: boolean }>().json === true, audit, close };
}

function metricsFile(ctx: Context, opts: CommonOptions): string | undefined {
  if (opts.metricsFile) return opts.metricsFile;
  const dir = ctx.model.config.backup.metricsTextfileDir;
  return dir ? path.join(dir, metricsFileName(ctx.team.name)) : undefined;
}

function writeMetrics(ctx: Context, opts: CommonOptions): void {
  const file = metricsFile(ctx, opts);
  if (file && ctx.store.exists()) writeBackupMetrics(ctx.store, file);
}

function print(ctx: Context, result: object, lines: string[]): void {
  if (ctx.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else for (const line of lines) process.stdout.write(`${line}\n`);
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function common(cmd: Command): Command {
  return cmd
    .requiredOption("--team <team>", "team name (teams.<team> in the stack config)")
    .option("-s, --stack <name>", "stack whose Pulumi.<stack>.yaml gives teams, active colours and backup config", "prod")
    .option("--project-dir <dir>", "project root", PROJECT_DIR)
    .option("--store <dir>", "backup store root (default backup.nfsPath); the team's backups are in <store>/<team>")
    .option("--metrics-file <file>", "node-exporter textfile to write the backup-age metrics to (default <backup.metricsTextfileDir>/jenkins_ha_backup_<team>.prom when set)");
}

async function withContext(opts: CommonOptions, cmd: Command, work: (ctx: Context) => Promise<void>): Promise<void> {
  const ctx = await context(opts, cmd);
  try {
    await work(ctx);
  } finally {
    await ctx.close();
  }
}

type RunOpts = CommonOptions & { colour?: string; home?: string; verify?: boolean };

async function runOnce(ctx: Context, opts: RunOpts): Promise<void> {
  const colour = opts.colour ? parseColour(opts.colour, "--colour") : ctx.team.activeEnvironment;
  const home = opts.home ?? volumeHomePath(ctx.team.name, colour);
  const run = await runBackup({ team: ctx.team.name, colour, home, store: ctx.store, selection: selectionFor(ctx.model.config.backup), audit: ctx.audit, actor: defaultActor() });
  print(ctx, { command: "backup run", ...run }, [
    `backup ${run.id} of ${run.team} ${run.colour}: ${run.files} files, ${mib(run.bytes)}; ${run.newObjects} new objects (${mib(run.newBytes)}) in ${run.durationMs} ms; master.key ${run.masterKey === "stored" ? "kept apart in master-key/" : "absent"}`,
    ...run.warnings.map((w) => `warning: ${w}`),
  ]);
  if (opts.verify) await verifyOnce(ctx, { ...opts, id: run.id });
  writeMetrics(ctx, opts);
}

async function verifyOnce(ctx: Context, opts: CommonOptions & { id?: string }): Promise<void> {
  const result = await verifyBackup({ store: ctx.store, id: opts.id, audit: ctx.audit, actor: defaultActor() });
  writeMetrics(ctx, opts);
  print(ctx, { command: "backup verify", ...result }, [
    result.ok
      ? `backup ${result.id} of ${result.team} verified: ${result.files} files, ${mib(result.bytes)}, test restore identical to the manifest (${result.durationMs} ms)`
      : `backup ${result.id} of ${result.team} FAILED verification:`,
    ...result.problems.map((p) => `  - ${p}`),
    ...result.warnings.map((w) => `warning: ${w}`),
  ]);
  if (!result.ok) {
    throw new VerificationFailed(`backup ${result.id} of team '${result.team}' is not good (${result.problems.length} problem(s), first: ${result.problems[0]}) — do not rely on it; run a new backup and check the store`, result.problems);
  }
}

export function registerBackupCommands(program: Command): void {
  const backup = program.command("backup").description("critical-data backups to NFS: run, verify, restore, prune, list, schedule");

  common(backup.command("run").description("back up the critical data of a colour's home (default: the active colour) into <store>/<team>/<id>/"))
    .option("--colour <colour>", "colour whose home to back up (default: the team's activeEnvironment)")
    .option("--home <dir>", "JENKINS_HOME to back up (default: the colour's docker volume, /var/lib/docker/volumes/jenkins-<team>-<colour>-home/_data)")
    .option("--verify", "verify the new backup right after")
    .action(async (opts: RunOpts, cmd: Command) => withContext(opts, cmd, (ctx) => runOnce(ctx, opts)));

  common(backup.command("verify").description("re-check a backup: checksums, archive, a test restore compared file by file; exit 4 when it is not good"))
    .option("--id <id>", "backup id (default: the newest)")
    .action(async (opts: CommonOptions & { id?: string }, cmd: Command) => withContext(opts, cmd, (ctx) => verifyOnce(ctx, opts)));

  common(backup.command("restore").description("restore a backup into a colour's home; the old content is kept aside"))
    .requiredOption("--id <id>", "backup id ('jenkins-ha backup list')")
    .requiredOption("--to <colour>", "colour whose home to restore into")
    .option("--home <dir>", "home to restore into (default: the colour's docker volume)")
    .option("--running <url>", "probe: the colour counts as running when <url>/login answers (default: its direct URL, unless --home is given)")
    .option("--force", "restore even into the active or a running colour")
    .action(async (opts: CommonOptions & { id: string; to: string; home?: string; running?: string; force?: boolean }, cmd: Command) =>
      withContext(opts, cmd, async (ctx) => {
        const colour = parseColour(opts.to, "--to");
        const probeUrl = opts.running ?? (opts.home ? undefined : ctx.team.colours[colour].url);
        const result = await restoreBackup({
          store: ctx.store,
          team: ctx.team.name,
          id: opts.id,
          colour,
          home: opts.home ?? volumeHomePath(ctx.team.name, colour),
          activeColour: ctx.team.activeEnvironment,
          isRunning: async () => (probeUrl ? answers(probeUrl, 2000) : false),
          force: opts.force,
          audit: ctx.audit,
          actor: defaultActor(),
        });
        print(ctx, { command: "backup restore", ...result }, [
          `restored backup ${result.id} into ${result.team} ${result.colour} (${result.home}): ${result.files} files, master.key ${result.masterKey}`,
          result.aside ? `previous content kept in ${result.aside}` : "the home was empty before",
          ...result.notes.map((n) => `note: ${n}`),
        ]);
      }),
    );

  common(backup.command("prune").description("delete backups older than backup.retentionDays (never the newest verified one) and unreferenced objects"))
    .option("--retention-days <n>", "override backup.retentionDays", (v) => Number(v))
    .option("--dry-run", "say what would go, delete nothing")
    .action(async (opts: CommonOptions & { retentionDays?: number; dryRun?: boolean }, cmd: Command) =>
      withContext(opts, cmd, async (ctx) => {
        const retentionDays = opts.retentionDays ?? ctx.model.config.backup.retentionDays;
        if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new OperatorError(`--retention-days must be a whole number of days >= 1`);
        const result = await pruneBackups({ store: ctx.store, retentionDays, dryRun: opts.dryRun, audit: ctx.audit, actor: defaultActor() });
        writeMetrics(ctx, opts);
        print(ctx, { command: "backup prune", ...result }, [
          `${result.dryRun ? "would delete" : "deleted"} ${result.deleted.length} backup(s) older than ${retentionDays} days, kept ${result.kept.length} (newest verified: ${result.newestVerified ?? "none"}); ${result.objectsRemoved} unreferenced objects (${mib(result.bytesFreed)})`,
          ...result.deleted.map((id) => `  - ${id}`),
          ...result.notes.map((n) => `note: ${n}`),
        ]);
      }),
    );

  common(backup.command("list").description("the team's backups, oldest first, with their verification"))
    .action(async (opts: CommonOptions, cmd: Command) =>
      withContext(opts, cmd, async (ctx) => {
        const rows = ctx.store.listIds().map((id) => {
          const v = verificationOf(ctx.store, id);
          return { id, verified: v ? (v.ok ? "ok" : "FAILED") : "not verified", verifiedAt: v?.verifiedAt ?? null };
        });
        print(ctx, { command: "backup list", team: ctx.team.name, backups: rows, newestVerified: newestVerifiedId(ctx.store) }, rows.length ? rows.map((r) => `${r.id}  ${r.verified}${r.verifiedAt ? ` (${r.verifiedAt})` : ""}`) : [`no backups of ${ctx.team.name} in ${ctx.store.dir}`]);
      }),
    );

  common(backup.command("schedule").description("long-running: back up, verify, prune and write metrics on a cron schedule (the scheduled backup container runs this)"))
    .option("--colour <colour>", "colour to back up (default: the active colour)")
    .option("--home <dir>", "JENKINS_HOME to back up (default: the colour's docker volume)")
    .option("--cron <expr>", "5-field cron, UTC (default: teams.<team>.backup.schedule, then backup.schedule)")
    .option("--run-now", "run once at start as well")
    .action(async (opts: RunOpts & { cron?: string; runNow?: boolean }, cmd: Command) =>
      withContext(opts, cmd, async (ctx) => {
        const expr = opts.cron ?? ctx.team.config.backup?.schedule ?? ctx.model.config.backup.schedule;
        let schedule;
        try {
          schedule = parseCron(expr);
        } catch (err) {
          throw new OperatorError(`--cron: ${(err as Error).message}`);
        }
        const tick = async () => {
          try {
            await runOnce(ctx, { ...opts, verify: true });
            const pruned = await pruneBackups({ store: ctx.store, retentionDays: ctx.model.config.backup.retentionDays, audit: ctx.audit, actor: defaultActor() });
            writeMetrics(ctx, opts);
            if (pruned.deleted.length) process.stdout.write(`pruned ${pruned.deleted.length} backup(s)\n`);
          } catch (err) {
            // One failed night must not stop the schedule; the age metric makes it visible.
            process.stderr.write(`error: ${(err as Error).message}\n`);
            writeMetrics(ctx, opts);
          }
        };
        let stopped = false;
        const stop = () => {
          stopped = true;
        };
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
        if (opts.runNow) await tick();
        while (!stopped) {
          const next = nextCronTime(schedule, new Date());
          process.stdout.write(`next backup of ${ctx.team.name} at ${next.toISOString()}\n`);
          while (!stopped && Date.now() < next.getTime()) await new Promise((r) => setTimeout(r, Math.min(1000, next.getTime() - Date.now())));
          if (!stopped) await tick();
        }
      }),
    );

  program
    .command("sync")
    .description("copy the critical data of one colour's home to the other's (after asking the source to quiet down); the old target content is kept aside")
    .requiredOption("--team <team>", "team name")
    .requiredOption("--from <colour>", "source colour (normally the active one)")
    .requiredOption("--to <colour>", "target colour")
    .option("-s, --stack <name>", "stack config", "prod")
    .option("--project-dir <dir>", "project root", PROJECT_DIR)
    .option("--store <dir>", "backup store root; the team lock lives in <store>/<team>/.lock (default backup.nfsPath)")
    .option("--from-home <dir>", "source JENKINS_HOME (default: the source colour's docker volume)")
    .option("--to-home <dir>", "target JENKINS_HOME (default: the target colour's docker volume)")
    .option("--source-url <url>", "source controller to quiet down (default: its direct URL; with --from-home: none)")
    .option("--http-timeout-ms <ms>", "timeout of each call to the source", (v) => Number(v), 3000)
    .action(async (opts: CommonOptions & { from: string; to: string; fromHome?: string; toHome?: string; sourceUrl?: string; httpTimeoutMs: number }, cmd: Command) =>
      withContext(opts, cmd, async (ctx) => {
        const from = parseColour(opts.from, "--from");
        const to = parseColour(opts.to, "--to");
        if (to !== otherColour(from)) throw new OperatorError(`--to must be the other colour than --from (${otherColour(from)})`);
        ctx.store.ensure();
        const result = await syncHomes({
          team: ctx.team.name,
          from,
          to,
          fromHome: opts.fromHome ?? volumeHomePath(ctx.team.name, from),
          toHome: opts.toHome ?? volumeHomePath(ctx.team.name, to),
          selection: selectionFor(ctx.model.config.backup),
          lockFile: path.join(ctx.store.dir, ".lock"),
          sourceUrl: opts.sourceUrl ?? (opts.fromHome ? undefined : ctx.team.colours[from].url),
          sourceAuth: process.env.JENKINS_HA_SOURCE_AUTH,
          httpTimeoutMs: opts.httpTimeoutMs,
          audit: ctx.audit,
          actor: defaultActor(),
        });
        const qd = result.quietDown;
        print(ctx, { command: "sync", ...result }, [
          `synced ${result.team} ${result.from} -> ${result.to}: ${result.files} files, ${mib(result.bytes)}; master.key ${result.masterKey}`,
          `quiet-down: ${qd ? (qd.requested ? `requested (HTTP ${qd.status})` : qd.reachable ? `refused (${qd.error})` : `source unreachable (${qd.error})`) : "no source URL"}; builds running: ${result.busyExecutors === null ? "unknown" : result.buildsWereRunning ? `yes (${result.busyExecutors} busy executors)` : "no"}`,
          result.aside ? `previous target content kept in ${result.aside}` : "the target was empty before",
          ...result.notes.map((n) => `note: ${n}`),
        ]);
      }),
    );
}
