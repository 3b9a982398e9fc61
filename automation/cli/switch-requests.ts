import { Command } from "commander";
import { SwitchRequestQueue, SwitchRequestRow } from "../coordination/switch-requests";
import { serveSwitchRequests } from "../switch/request-worker";
import { wireOrchestrator } from "../switch/wiring";
import { actorName } from "./coordination";
import { OperatorError } from "./errors";
import { abortOnSignals, progressPrinter } from "./progress";
import { loadModel, realStack, withDb } from "./switch";

interface GlobalOptions {
  json?: boolean;
  databaseUrl?: string;
}

/** How often a worker reports while it switches: well inside the healer's `switchStaleSeconds` (at least 30). */
export const WORKER_HEARTBEAT_MS = 10_000;

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new OperatorError(`${flag} '${value}' must be a positive whole number`);
  return n;
}

function formatRequest(r: SwitchRequestRow): string {
  const when = r.requestedAt.toISOString().slice(0, 19).replace("T", " ");
  const by = r.claimedBy ? ` run by ${r.claimedBy}` : "";
  return `#${r.id} ${when} ${r.team} -> ${r.to} ${r.status.padEnd(11)} asked by ${r.requestedBy}${by}${r.outcomeReason ? `: ${r.outcomeReason}` : ""}`;
}

/**
 * `switch-requests serve|list|void`: the healer's switch requests. `serve` is what the
 * `Infrastructure/Auto-Heal-Switch` job runs on an ops agent, where the Pulumi workspace is.
 */
export function registerSwitchRequestCommands(program: Command): void {
  const requests = program.command("switch-requests").description("switch requests queued by the healer: serve them (ops agent), list them, void one");

  requests
    .command("serve")
    .description("claim the healer's switch requests and run each through the switch orchestrator (mode auto-heal: lease, budget, backup and policy gates apply)")
    .option("-s, --stack <name>", "stack", "prod")
    .option("--once", "exit when nothing is left to claim (the scheduled Jenkins job)")
    .option("--max-requests <n>", "exit after serving this many")
    .option("--poll-seconds <n>", "without --once: how often to look for a request", "5")
    .option("--actor <name>", "who serves (default: $BUILD_TAG or user@host)")
    .option("--policy-config <file...>", "policy pack config files (as for pulumi --policy-pack-config)")
    .action(async (opts: { stack: string; once?: boolean; maxRequests?: string; pollSeconds: string; actor?: string; policyConfig?: string[] }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const maxRequests = positive(opts.maxRequests, "--max-requests");
      const pollSeconds = positive(opts.pollSeconds, "--poll-seconds");
      const model = loadModel(opts.stack);
      const progress = progressPrinter(g.json === true);
      const signals = abortOnSignals(progress, "*");
      const worker = actorName(opts.actor);
      try {
        await withDb(g, async (database) => {
          const served = await serveSwitchRequests({
            queue: new SwitchRequestQueue(database),
            stack: model.stack,
            worker,
            knownTeams: model.teams.map((t) => t.name),
            runner: async () => wireOrchestrator({ model, stack: await realStack(opts.stack, opts.policyConfig ?? []), database, progress, signal: signals.signal, actor: worker }).orchestrator,
            progress,
            signal: signals.signal,
            once: opts.once,
            maxRequests,
            pollMs: (pollSeconds ?? 5) * 1000,
            heartbeatMs: WORKER_HEARTBEAT_MS,
          });
          if (g.json) process.stdout.write(`${JSON.stringify({ step: "served", requests: served })}\n`);
          else if (served.length === 0) process.stdout.write(`no switch request to serve on stack ${model.stack}\n`);
          // A refused or failed switch was the healer's to judge (it escalates); the job only
          // fails when an outcome could not be recorded.
          if (served.some((r) => !r.recorded)) process.exitCode = 1;
        });
      } finally {
        signals.dispose();
      }
    });

  requests
    .command("list")
    .description("the newest switch requests of the stack, with their outcome")
    .option("-s, --stack <name>", "stack", "prod")
    .option("--limit <n>", "how many", "20")
    .action(async (opts: { stack: string; limit: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const limit = positive(opts.limit, "--limit");
      await withDb(g, async (database) => {
        const rows = await new SwitchRequestQueue(database).list(opts.stack, { limit });
        process.stdout.write(g.json ? `${JSON.stringify(rows)}\n` : rows.length === 0 ? `no switch requests on stack ${opts.stack}\n` : `${rows.map(formatRequest).join("\n")}\n`);
      });
    });

  requests
    .command("void")
    .description("on-call: end an open request; a pending one is never started (stop a running switch with emergency-stop)")
    .argument("<id>", "request id (from 'switch-requests list')")
    .requiredOption("--reason <text>", "why (kept with the request)")
    .action(async (id: string, opts: { reason: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const n = positive(id, "<id>")!;
      await withDb(g, async (database) => {
        const row = await new SwitchRequestQueue(database).void(n, opts.reason);
        if (!row) throw new OperatorError(`switch request ${n} is not open (see 'jenkins-ha switch-requests list')`);
        process.stdout.write(g.json ? `${JSON.stringify(row)}\n` : `${formatRequest(row)}\n`);
      });
    });
}
