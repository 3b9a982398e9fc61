import { Command } from "commander";
import { loadPlatformModel, readStackFile, stackFilePath } from "../../config/load";
import { PlatformModel, otherColour } from "../../config/model";
import { COLOURS, Colour } from "../../config/schema";
import { openDatabase } from "../coordination/connect";
import { Database } from "../coordination/db";
import { PgCoordination } from "../coordination/store";
import { SwitchRequestQueue } from "../coordination/switch-requests";
import { budgetLimitsFrom } from "../coordination/budget";
import { LocalWorkspaceStackOperations } from "../switch/local-workspace";
import { SwitchReport, SwitchRequest } from "../switch/orchestrator";
import { formatTeamStatus, teamStatus } from "../switch/status";
import { StackOperations } from "../switch/stack-operations";
import { adminSocketPath, wireOrchestrator } from "../switch/wiring";
import { HaproxyRuntime } from "../traffic/haproxy-runtime";
import { HaproxyTraffic } from "../traffic/haproxy-traffic";
import { actorName } from "./coordination";
import { OperatorError } from "./errors";
import { abortOnSignals, progressPrinter } from "./progress";
import { PROJECT_DIR } from "./render";

interface GlobalOptions {
  json?: boolean;
  databaseUrl?: string;
}

export function loadModel(stack: string): PlatformModel {
  return loadPlatformModel(stack, readStackFile(stackFilePath(PROJECT_DIR, stack)));
}

export function requireTeam(model: PlatformModel, team: string): void {
  if (!model.teams.some((t) => t.name === team)) {
    throw new OperatorError(`--team '${team}' is not in stack '${model.stack}'; teams: ${model.teams.map((t) => t.name).join(", ")}`);
  }
}

function parseColour(value: string): Colour {
  if (!(COLOURS as readonly string[]).includes(value)) throw new OperatorError(`--to '${value}' is not a colour; use blue or green`);
  return value as Colour;
}

/**
 * The Pulumi seam as users run it: the Automation API over this project (needs the Pulumi
 * CLI, a backend and the stack's passphrase in the environment).
 */
export async function realStack(stack: string, policyConfigs: string[]): Promise<StackOperations> {
  return LocalWorkspaceStackOperations.select({ projectDir: PROJECT_DIR, stackName: stack, policyPackConfigs: policyConfigs });
}

function printReport(json: boolean, report: SwitchReport): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ step: "report", ...report })}\n`);
    return;
  }
  process.stdout.write(`${report.team}: ${report.outcome} ${report.from} -> ${report.to}${report.reason ? ` (${report.reason})` : ""} [${report.id}]\n`);
}

export async function withDb<T>(g: GlobalOptions, work: (db: Database) => Promise<T>): Promise<T> {
  const db = openDatabase(PROJECT_DIR, g.databaseUrl);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

/** `switch`, `rollback`, `emergency-stop`, `status`: what the Infrastructure jobs and on-call run. */
export function registerSwitchCommands(program: Command): void {
  const common = (cmd: Command) =>
    cmd
      .option("-s, --stack <name>", "stack", "prod")
      .option("--actor <name>", "who asks (default: $BUILD_TAG or user@host)")
      .option("--policy-config <file...>", "policy pack config files (as for pulumi --policy-pack-config)");

  const runSwitch = async (cmd: Command, build: (model: PlatformModel, stack: StackOperations) => Promise<SwitchRequest>, resume?: boolean) => {
    const opts = cmd.optsWithGlobals<GlobalOptions & { stack: string; actor?: string; policyConfig?: string[]; team: string }>();
    const model = loadModel(opts.stack);
    requireTeam(model, opts.team);
    const progress = progressPrinter(opts.json === true);
    const signals = abortOnSignals(progress, opts.team);
    try {
      await withDb(opts, async (database) => {
        const stack = await realStack(opts.stack, opts.policyConfig ?? []);
        const { orchestrator } = wireOrchestrator({ model, stack, database, progress, signal: signals.signal, actor: actorName(opts.actor) });
        if (resume) {
          for (const report of await orchestrator.recoverInterrupted(opts.team, { resume: true, actor: actorName(opts.actor) })) printReport(opts.json === true, report);
          return;
        }
        printReport(opts.json === true, await orchestrator.switch(await build(model, stack)));
      });
    } finally {
      signals.dispose();
    }
  };

  common(program.command("switch").description("switch a team to the other colour: locked, budgeted, backed up, policy-gated, progressive, audited"))
    .requiredOption("--team <team>", "the team")
    .option("--to <colour>", "target colour (blue|green)")
    .option("--reason <text>", "why (goes into the switch record and the audit)")
    .option("--mode <mode>", "safe (default) or force (on-call: skips only the budget; audited)", "safe")
    .option("--dry-run", "take the lease and check the budget, then stop")
    .option("--resume", "finish an interrupted switch of the team (instead of rolling it back)")
    .action(async (opts: { team: string; to?: string; reason?: string; mode: string; dryRun?: boolean; resume?: boolean; actor?: string }, cmd: Command) => {
      if (opts.resume) return runSwitch(cmd, async () => Promise.reject(new Error("unreachable")), true);
      if (!opts.to) throw new OperatorError("--to <colour> is required (blue or green)");
      if (!opts.reason) throw new OperatorError("--reason is required: it goes into the switch record and the audit trail");
      if (opts.mode !== "safe" && opts.mode !== "force") throw new OperatorError(`--mode '${opts.mode}' is not a mode; use safe or force`);
      const to = parseColour(opts.to);
      const mode = opts.mode;
      return runSwitch(cmd, async () => ({ team: opts.team, to, reason: opts.reason!, actor: actorName(opts.actor), mode, dryRun: opts.dryRun }));
    });

  common(program.command("rollback").description("switch a team back to its other colour: the same gates, no budget"))
    .requiredOption("--team <team>", "the team")
    .requiredOption("--reason <text>", "why")
    .action(async (opts: { team: string; reason: string; actor?: string }, cmd: Command) =>
      runSwitch(cmd, async (_model, stack) => {
        const active = await stack.getConfig(`teams.${opts.team}.activeEnvironment`);
        if (active !== "blue" && active !== "green") throw new OperatorError(`stack has no teams.${opts.team}.activeEnvironment`);
        return { team: opts.team, to: otherColour(active), reason: opts.reason, actor: actorName(opts.actor), mode: "rollback" };
      }),
    );

  program
    .command("emergency-stop")
    .description("halt running switches (one team or all) within seconds; traffic to the last known good colour; audited")
    .option("-s, --stack <name>", "stack", "prod")
    .option("--team <team>", "only this team (default: every team)")
    .requiredOption("--reason <text>", "why")
    .option("--actor <name>", "who (default: $BUILD_TAG or user@host)")
    .action(async (opts: { stack: string; team?: string; reason: string; actor?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const model = loadModel(opts.stack);
      if (opts.team) requireTeam(model, opts.team);
      await withDb(g, async (database) => {
        const coordination = new PgCoordination(database, budgetLimitsFrom(model.config.switch));
        const result = await emergencyStop(model, coordination, new HaproxyTraffic(new HaproxyRuntime(adminSocketPath(model))), opts.team, opts.reason, actorName(opts.actor), new SwitchRequestQueue(database));
        process.stdout.write(g.json ? `${JSON.stringify(result)}\n` : `${result.lines.join("\n")}\n`);
        if (result.trafficErrors > 0) process.exitCode = 5;
      });
    });

  program
    .command("status")
    .description("per team: active colour, HAProxy weights, health, lock holder, budget left, last backup, last switch")
    .option("-s, --stack <name>", "stack", "prod")
    .option("--team <team>", "only this team")
    .action(async (opts: { stack: string; team?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const model = loadModel(opts.stack);
      if (opts.team) requireTeam(model, opts.team);
      await withDb(g, async (database) => {
        const stack = await realStack(opts.stack, []);
        const coordination = new PgCoordination(database, budgetLimitsFrom(model.config.switch));
        const haproxy = new HaproxyRuntime(adminSocketPath(model));
        const teams = opts.team ? [opts.team] : model.teams.map((t) => t.name);
        for (const team of teams) {
          const s = await teamStatus(model, team, { stack, coordination, haproxy });
          process.stdout.write(g.json ? `${JSON.stringify(s)}\n` : `${formatTeamStatus(s)}\n`);
        }
      });
    });
}

/**
 * Asks every running switch (of a team, or all) to stop — each checks before every probe
 * and rolls back — and, so that a switch whose process already died stops too, puts
 * traffic back on the last known good colour at once: the source, or the target if the
 * switch had committed. Audited as `emergency_stop`.
 */
export async function emergencyStop(
  model: PlatformModel,
  coordination: PgCoordination,
  traffic: HaproxyTraffic,
  team: string | undefined,
  reason: string,
  actor: string,
  /** The healer's queued switch requests: pending ones are voided, so no worker starts them after the stop. */
  requests?: SwitchRequestQueue,
): Promise<{ stopped: number; lines: string[]; trafficErrors: number }> {
  const startedAt = new Date();
  const open = await coordination.journalOpen(team);
  const stopped = await coordination.requestEmergencyStop(team);
  const lines = [`emergency stop requested for ${stopped} running switch(es)${team ? ` of ${team}` : ""}`];
  const voided = requests ? await requests.voidPending(model.stack, team, `emergency stop by ${actor}: ${reason}`) : [];
  if (voided.length > 0) lines.push(`voided ${voided.length} queued switch request(s) of the healer: ${voided.map((r) => `${r.team} #${r.id}`).join(", ")}`);
  let trafficErrors = 0;
  for (const entry of open) {
    const t = model.teams.find((x) => x.name === entry.team);
    if (!t) continue;
    const good = entry.committed ? entry.to : entry.from;
    try {
      await traffic.setTargetPercent(t.backendName, good, otherColour(good), 0);
      lines.push(`${entry.team}: traffic 100 % on ${good} (switch ${entry.id} was in ${entry.phase} at ${entry.targetPercent} %)`);
    } catch (err) {
      trafficErrors++;
      lines.push(`${entry.team}: could not move traffic (${err instanceof Error ? err.message : String(err)}); the running switch will roll back when it sees the stop`);
    }
  }
  // One row per affected team (the compliance report counts per team); a platform-wide
  // stop with nothing running still leaves one row, without a team.
  const affectedTeams: Array<string | null> = team ? [team] : [...new Set(open.map((e) => e.team))];
  if (affectedTeams.length === 0) affectedTeams.push(null);
  for (const affected of affectedTeams) {
    await coordination.auditLog.record({
      operation: "emergency_stop",
      team: affected,
      actor,
      reason,
      outcome: "requested",
      startedAt,
      finishedAt: new Date(),
      metadata: {
        switches: open.filter((e) => affected === null || e.team === affected).map((e) => e.id),
        voidedRequests: voided.filter((r) => affected === null || r.team === affected).map((r) => r.id),
        trafficErrors,
      },
    });
  }
  return { stopped, lines, trafficErrors };
}
