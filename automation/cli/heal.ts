import * as fs from "fs";
import { Command } from "commander";
import pino from "pino";
import { loadPlatformModel, readStackFile, stackFilePath } from "../../config/load";
import { PlatformModel } from "../../config/model";
import { TEAM_NAME_PATTERN } from "../../config/schema";
import { openDatabase } from "../coordination/connect";
import { Database } from "../coordination/db";
import { healLogger } from "../heal/logger";
import { defaultHealerId, watchedTeams, startHealService } from "../heal/service";
import { QueuedSwitchRequester } from "../heal/queued-switch";
import { SwitchRequestQueue } from "../coordination/switch-requests";
import { SWITCH_VIA, SwitchVia } from "../../config/sections/healing";
import { LazyOrchestratorSwitchRequester } from "../heal/orchestrator-switch";
import { SwitchRequester, UnwiredSwitchRequester } from "../heal/switch-requester";
import { actorName } from "./coordination";
import { OperatorError } from "./errors";
import { PROJECT_DIR } from "./render";

/** A file holding the healer's DB URL (the Healer container gets it as an uploaded secret file). */
export const DATABASE_URL_FILE_ENV = "JENKINS_HA_DATABASE_URL_FILE";

interface GlobalOptions {
  json?: boolean;
  databaseUrl?: string;
}

/** `--database-url`, else the URL in $JENKINS_HA_DATABASE_URL_FILE, else what connect.ts resolves. */
export function healDatabaseUrl(explicit?: string): string | undefined {
  if (explicit) return explicit;
  const file = process.env[DATABASE_URL_FILE_ENV];
  if (!file) return undefined;
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new OperatorError(`cannot read the database URL from ${DATABASE_URL_FILE_ENV}=${file} (${err instanceof Error ? err.message : String(err)}); check the Healer container's uploaded secret file`, { cause: err });
  }
}

/**
 * The stack's model, and which teams' `activeEnvironment` the file really states. The
 * Healer container's copy leaves it out (so a switch does not replace the healer): those
 * teams get a placeholder that placement never trusts.
 */
function loadModel(stack: string, stackFile?: string): { model: PlatformModel; configKnows: (team: string) => boolean } {
  const file = stackFile ?? stackFilePath(PROJECT_DIR, stack);
  if (!fs.existsSync(file)) throw new OperatorError(`no stack file ${file}; pass --stack <name> (Pulumi.<name>.yaml in ${PROJECT_DIR}) or --stack-file <path>`);
  const raw = readStackFile(file);
  const unknown = new Set<string>();
  const teams = raw.teams;
  if (teams && typeof teams === "object") {
    for (const [name, team] of Object.entries(teams as Record<string, Record<string, unknown>>)) {
      if (team && typeof team === "object" && team.activeEnvironment === undefined) {
        unknown.add(name);
        team.activeEnvironment = "blue";
      }
    }
  }
  return { model: loadPlatformModel(stack, raw), configKnows: (team) => !unknown.has(team) };
}

function isSwitchVia(value: string): value is SwitchVia {
  return (SWITCH_VIA as readonly string[]).includes(value);
}

function checkTeam(team: string): void {
  if (!TEAM_NAME_PATTERN.test(team)) throw new OperatorError(`--team '${team}' is not a valid team name (^[a-z][a-z0-9-]{1,30}$)`);
}

function parseListen(value: string, defaultPort: number): { host: string; port: number } {
  const i = value.lastIndexOf(":");
  const host = i >= 0 ? value.slice(0, i) || "0.0.0.0" : value;
  const port = i >= 0 ? Number(value.slice(i + 1)) : defaultPort;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new OperatorError(`--listen '${value}' is not host:port`);
  return { host, port };
}

async function withDatabase<T>(cmd: Command, work: (db: Database, g: GlobalOptions) => Promise<T>): Promise<T> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const db = openDatabase(PROJECT_DIR, healDatabaseUrl(g.databaseUrl));
  try {
    return await work(db, g);
  } finally {
    await db.close();
  }
}

/** Pause or resume: the flag and an `override` audit row, in one transaction. */
async function setFlags(db: Database, team: string, flags: { paused: boolean; needsHuman?: boolean }, reason: string, actor: string, kind: string): Promise<void> {
  await db.transaction(async (client) => {
    await client.query(
      `INSERT INTO heal_flags (team, paused, needs_human, reason, updated_by) VALUES ($1, $2, COALESCE($3, false), $4, $5)
       ON CONFLICT (team) DO UPDATE SET paused = $2, needs_human = COALESCE($3, heal_flags.needs_human), reason = $4, updated_by = $5, updated_at = now()`,
      [team, flags.paused, flags.needsHuman ?? null, reason, actor],
    );
    const now = new Date();
    await client.query(
      `INSERT INTO deployment_audit (operation, team, actor, reason, outcome, started_at, finished_at, metadata) VALUES ('override', $1, $2, $3, 'done', $4, $4, $5)`,
      [team, actor, reason, now, JSON.stringify({ kind, ...flags })],
    );
  });
}

interface StatusRow {
  team: string;
  mode: string;
  paused: boolean;
  needsHuman: boolean;
  flagReason: string | null;
  flagBy: string | null;
  lastAction: { operation: string; outcome: string; at: string; reason: string } | null;
  /** The healer's newest health record of the team (environment_state). */
  health: { environment: string; healthy: boolean; checkedAt: string } | null;
  /** A switch the healer asked for and that has not ended yet (switch_requests). */
  openSwitchRequest: { id: number; to: string; status: string; claimedBy: string | null; requestedAt: string } | null;
}

/** `heal run|pause|resume|status`: the healer and its on-call controls. */
export function registerHealCommands(program: Command): void {
  const heal = program.command("heal").description("auto-healing: the healer loop and its on-call controls (pause, resume, status)");

  heal
    .command("run")
    .description("run the healer: probe every team, climb restart -> switch -> escalate, serve /metrics and the Alertmanager webhook")
    .option("-s, --stack <name>", "stack whose teams and healing policy apply", "prod")
    .option("--stack-file <path>", "read the config from this file instead of Pulumi.<stack>.yaml")
    .option("--once", "one check of every team, print the status, exit")
    .option("--interval-seconds <n>", "check every team this often (overrides teams.<team>.healing.intervalSeconds)")
    .option("--listen <host:port>", "where to serve /metrics and POST /alerts (default 0.0.0.0:<healing.port>)")
    .option("--haproxy-socket <path>", "HAProxy admin socket (default <platform.haproxy.runtimeDir>/admin.sock)")
    .option("--switch <how>", "rung 2: 'queue' (ask a switch worker through the coordination DB), 'orchestrator' (run the switch orchestrator here, on this project's Pulumi workspace) or 'escalate' (never switch); default healing.switchVia")
    .action(async (opts: { stack: string; stackFile?: string; once?: boolean; intervalSeconds?: string; listen?: string; haproxySocket?: string; switch?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { model, configKnows } = loadModel(opts.stack, opts.stackFile);
      const via = opts.switch ?? model.config.healing.switchVia;
      if (!isSwitchVia(via)) throw new OperatorError(`--switch '${via}' is not one of: ${SWITCH_VIA.join(", ")}`);
      const interval = opts.intervalSeconds === undefined ? undefined : Number(opts.intervalSeconds);
      if (interval !== undefined && !(interval > 0)) throw new OperatorError(`--interval-seconds '${opts.intervalSeconds}' must be a positive number`);
      // --once prints a report on stdout: its logs go to stderr so the report stays parseable.
      const log = opts.once ? healLogger({ destination: pino.destination(2) }) : healLogger();
      let db: Database | undefined;
      let noDbReason: string | undefined;
      try {
        db = openDatabase(PROJECT_DIR, healDatabaseUrl(g.databaseUrl));
      } catch (err) {
        // No database configured: still watch, in monitor mode, and say so in logs and metrics.
        noDbReason = err instanceof Error ? err.message : String(err);
      }
      // One name in the audit for the healer's own actions and the switches it asks for.
      const healerId = defaultHealerId();
      const stopWaiting = new AbortController();
      // Without a database there is no switch: a switch needs its lease and budget.
      let orchestrator: LazyOrchestratorSwitchRequester | undefined;
      let switcher: SwitchRequester = new UnwiredSwitchRequester();
      if (db && via === "queue") {
        const { switchClaimSeconds, switchStaleSeconds } = model.config.healing;
        switcher = new QueuedSwitchRequester({ queue: new SwitchRequestQueue(db), stack: model.stack, requestedBy: `healer:${healerId}`, claimWithinSeconds: switchClaimSeconds, staleAfterSeconds: switchStaleSeconds, log, signal: stopWaiting.signal });
      } else if (db && via === "orchestrator") {
        // On the healer's own connection: the `healer` role may write what a switch writes,
        // never the platform lock.
        switcher = orchestrator = new LazyOrchestratorSwitchRequester({ model, projectDir: PROJECT_DIR, database: db, actor: `healer:${healerId}`, log, haproxySocket: opts.haproxySocket });
      }
      const service = await startHealService({
        model,
        db,
        noDbReason,
        switcher,
        log,
        healerId,
        intervalMs: interval === undefined ? undefined : interval * 1000,
        listen: opts.once ? undefined : parseListen(opts.listen ?? `0.0.0.0:${model.config.healing.port}`, model.config.healing.port),
        haproxySocket: opts.haproxySocket,
        configKnowsActive: configKnows,
        autoStart: !opts.once,
      });
      try {
        if (opts.once) {
          await service.healer.round();
          const status = [...service.healer.status.values()];
          process.stdout.write(g.json ? `${JSON.stringify({ coordinationUp: service.healer.coordinationUp, teams: status })}\n` : `${status.map((s) => `${s.team.padEnd(12)} ${s.effectiveMode.padEnd(8)} ${s.healthy ? "healthy  " : "UNHEALTHY"} ${s.lastDecision ?? ""}`).join("\n")}\n`);
          return;
        }
        await new Promise<void>((resolve) => {
          const onSignal = (signal: string) => {
            log({ level: "info", msg: `${signal}: stopping after the check in progress` });
            process.off("SIGTERM", onSignal);
            process.off("SIGINT", onSignal);
            resolve();
          };
          process.on("SIGTERM", onSignal);
          process.on("SIGINT", onSignal);
        });
      } finally {
        stopWaiting.abort("healer stopping");
        orchestrator?.stop();
        await service.stop();
        await db?.close();
      }
    });

  heal
    .command("pause")
    .description("on-call: stop the healer acting on a team (it keeps watching and auditing); audited")
    .requiredOption("--team <team>", "the team")
    .requiredOption("--reason <text>", "why (goes into the audit trail)")
    .option("--actor <name>", "who is doing this (default: $BUILD_TAG or user@host)")
    .action(async (opts: { team: string; reason: string; actor?: string }, cmd: Command) => {
      checkTeam(opts.team);
      await withDatabase(cmd, async (db, g) => {
        await setFlags(db, opts.team, { paused: true }, opts.reason, actorName(opts.actor), "heal_pause");
        process.stdout.write(g.json ? `${JSON.stringify({ team: opts.team, paused: true })}\n` : `healing paused for ${opts.team}; audited. Resume with 'jenkins-ha heal resume --team ${opts.team} --reason ...'\n`);
      });
    });

  heal
    .command("resume")
    .description("on-call: let the healer act on a team again (clears paused and needs-human); audited")
    .requiredOption("--team <team>", "the team")
    .requiredOption("--reason <text>", "what was fixed (goes into the audit trail)")
    .option("--actor <name>", "who is doing this (default: $BUILD_TAG or user@host)")
    .action(async (opts: { team: string; reason: string; actor?: string }, cmd: Command) => {
      checkTeam(opts.team);
      await withDatabase(cmd, async (db, g) => {
        await setFlags(db, opts.team, { paused: false, needsHuman: false }, opts.reason, actorName(opts.actor), "heal_resume");
        process.stdout.write(g.json ? `${JSON.stringify({ team: opts.team, paused: false, needsHuman: false })}\n` : `healing resumed for ${opts.team} (paused and needs-human cleared); audited\n`);
      });
    });

  heal
    .command("status")
    .description("per team: healing mode, paused / needs-human flags, last heal action, last health record, open switch request")
    .option("-s, --stack <name>", "stack whose teams and healing modes to show", "prod")
    .option("--stack-file <path>", "read the config from this file instead of Pulumi.<stack>.yaml")
    .action(async (opts: { stack: string; stackFile?: string }, cmd: Command) => {
      const { model } = loadModel(opts.stack, opts.stackFile);
      const teams = watchedTeams(model);
      await withDatabase(cmd, async (db, g) => {
        const flags = await db.query<{ team: string; paused: boolean; needs_human: boolean; reason: string; updated_by: string }>("SELECT team, paused, needs_human, reason, updated_by FROM heal_flags");
        const last = await db.query<{ team: string; operation: string; outcome: string; started_at: Date; reason: string }>(
          `SELECT DISTINCT ON (team) team, operation, outcome, started_at, reason FROM deployment_audit WHERE operation LIKE 'heal:%' ORDER BY team, started_at DESC, id DESC`,
        );
        const health = await db.query<{ team: string; environment: string; healthy: boolean; checked_at: Date }>(
          "SELECT DISTINCT ON (team) team, environment, healthy, checked_at FROM environment_state ORDER BY team, checked_at DESC",
        );
        const requests = await db.query<{ team: string; id: string; to_environment: string; status: string; claimed_by: string | null; requested_at: Date }>(
          "SELECT team, id, to_environment, status, claimed_by, requested_at FROM switch_requests WHERE stack = $1 AND status IN ('pending', 'running')",
          [model.stack],
        );
        const names = [...new Set([...teams.map((t) => t.name), ...flags.map((f) => f.team)])].sort();
        const rows: StatusRow[] = names.map((team) => {
          const f = flags.find((x) => x.team === team);
          const a = last.find((x) => x.team === team);
          return {
            team,
            mode: teams.find((t) => t.name === team)?.policy.mode ?? "not in stack",
            paused: f?.paused ?? false,
            needsHuman: f?.needs_human ?? false,
            flagReason: f?.reason ?? null,
            flagBy: f?.updated_by ?? null,
            lastAction: a ? { operation: a.operation, outcome: a.outcome, at: a.started_at.toISOString(), reason: a.reason } : null,
            health: ((h) => (h ? { environment: h.environment, healthy: h.healthy, checkedAt: h.checked_at.toISOString() } : null))(health.find((x) => x.team === team)),
            openSwitchRequest: ((q) => (q ? { id: Number(q.id), to: q.to_environment, status: q.status, claimedBy: q.claimed_by, requestedAt: q.requested_at.toISOString() } : null))(requests.find((x) => x.team === team)),
          };
        });
        if (g.json) {
          process.stdout.write(`${JSON.stringify({ teams: rows })}\n`);
          return;
        }
        const lines = rows.map((r) => {
          const state = r.needsHuman ? "NEEDS HUMAN" : r.paused ? "paused" : "active";
          const flag = r.flagReason && (r.paused || r.needsHuman) ? ` (${r.flagReason}, by ${r.flagBy})` : "";
          const action = r.lastAction ? `last: ${r.lastAction.operation} ${r.lastAction.outcome} at ${r.lastAction.at}` : "no heal action yet";
          const seen = r.health ? `  ${r.health.environment} ${r.health.healthy ? "healthy" : "UNHEALTHY"} at ${r.health.checkedAt}` : "";
          const q = r.openSwitchRequest;
          const switching = q ? `  switch request #${q.id} to ${q.to} ${q.status}${q.claimedBy ? ` (${q.claimedBy})` : " (waiting for a worker)"}` : "";
          return `${r.team.padEnd(12)} mode ${r.mode.padEnd(8)} ${state.padEnd(11)}${flag}  ${action}${seen}${switching}`;
        });
        process.stdout.write(`${lines.join("\n")}\n`);
      });
    });
}
