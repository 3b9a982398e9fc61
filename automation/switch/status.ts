import { PlatformModel } from "../../config/model";
import { Colour, COLOURS } from "../../config/schema";
import { TeamStore } from "../backup/store";
import { verificationOf } from "../backup/prune";
import { PgCoordination } from "../coordination/store";
import { httpProbe } from "../health/http-probe";
import { HaproxyRuntime } from "../traffic/haproxy-runtime";
import { StackOperations } from "./stack-operations";

export interface TeamStatus {
  team: string;
  activeEnvironment: string | undefined;
  /** The other colour: what a switch or a DR drill targets. */
  standbyEnvironment: string | undefined;
  /** HAProxy's view per colour (status and runtime weight); absent when the socket is unreachable. */
  haproxy?: Record<Colour, { status: string; weight: number } | undefined>;
  /** `/login` of each colour, directly (bypassing HAProxy). */
  health: Record<Colour, { ok: boolean; status?: number; error?: string }>;
  lock?: { holder: string; token: number; expiresAt: string };
  budget: { allowed: boolean; reason?: string; allowedAt?: string; switchesLastHour: number; switchesLastDay: number };
  openSwitch?: { id: string; from: string; to: string; phase: string; targetPercent: number; emergencyStop: boolean };
  lastBackup?: { id: string; verified: boolean; verifiedAt?: string };
  lastSwitch?: { outcome: string; from: string | null; to: string | null; at: string; actor: string };
  /** What could not be read (the rest is still reported). */
  unknown: string[];
}

async function optional<T>(what: string, unknown: string[], read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    unknown.push(`${what}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
    return undefined;
  }
}

/**
 * One team's state as on-call needs it at 3 a.m.: colour, weights, health, lock holder,
 * budget left, open switch, last backup and last switch. Every source is read on its own:
 * one that is down is named in `unknown`, and the rest is still shown. The coordination
 * database is the exception: without it, the caller refuses (manual mode).
 */
export async function teamStatus(model: PlatformModel, team: string, deps: { stack: StackOperations; coordination: PgCoordination; haproxy: HaproxyRuntime; storeRoot?: string }): Promise<TeamStatus> {
  const t = model.teams.find((x) => x.name === team);
  if (!t) throw new Error(`unknown team '${team}'`);
  const unknown: string[] = [];
  const [activeEnvironment, stats, lease, budget, open, audit] = await Promise.all([
    optional("stack config", unknown, () => deps.stack.getConfig(`teams.${team}.activeEnvironment`)),
    optional("HAProxy", unknown, () => deps.haproxy.showStat()),
    deps.coordination.leases.show(`team:${team}`),
    deps.coordination.checkBudget(team, new Date()),
    deps.coordination.journalOpen(team),
    deps.coordination.auditLog.query({ team, sinceMs: 30 * 86_400_000 }),
  ]);
  const health = Object.fromEntries(
    await Promise.all(
      COLOURS.map(async (c) => {
        const probe = await httpProbe(`${t.colours[c].url}/login`, 3000);
        return [c, { ok: probe.status === 200, status: probe.status, error: probe.error }];
      }),
    ),
  ) as TeamStatus["health"];
  const newest = await optional("backups", unknown, async () => {
    const store = new TeamStore(deps.storeRoot ?? model.config.backup.nfsPath, team);
    const id = store.listIds().at(-1);
    if (!id) return undefined;
    const verification = verificationOf(store, id);
    return { id, verified: verification?.ok === true, verifiedAt: verification?.verifiedAt };
  });
  const switches = audit.filter((r) => r.operation === "switch" || r.operation === "rollback");
  const last = switches[switches.length - 1];
  const entry = open[0];
  return {
    team,
    activeEnvironment,
    standbyEnvironment: activeEnvironment === "blue" ? "green" : activeEnvironment === "green" ? "blue" : undefined,
    haproxy: stats
      ? (Object.fromEntries(
          COLOURS.map((c) => {
            const row = stats.find((r) => r.pxname === t.backendName && r.svname === c);
            return [c, row ? { status: row.status, weight: row.weight } : undefined];
          }),
        ) as TeamStatus["haproxy"])
      : undefined,
    health,
    lock: lease ? { holder: lease.holder, token: lease.token, expiresAt: lease.expiresAt.toISOString() } : undefined,
    budget: {
      allowed: budget.allowed,
      reason: budget.reason,
      allowedAt: budget.allowedAt?.toISOString(),
      switchesLastHour: budget.switchesLastHour,
      switchesLastDay: budget.switchesLastDay,
    },
    openSwitch: entry ? { id: entry.id, from: entry.from, to: entry.to, phase: entry.phase, targetPercent: entry.targetPercent, emergencyStop: entry.emergencyStop } : undefined,
    lastBackup: newest,
    lastSwitch: last ? { outcome: last.outcome, from: last.from, to: last.to, at: last.finishedAt.toISOString(), actor: last.actor } : undefined,
    unknown,
  };
}

export function formatTeamStatus(s: TeamStatus): string {
  const weights = s.haproxy
    ? COLOURS.map((c) => `${c} ${s.haproxy?.[c] ? `${s.haproxy[c]!.status} w${s.haproxy[c]!.weight}` : "absent"}`).join(", ")
    : "unknown";
  const lines = [
    `${s.team}: active ${s.activeEnvironment ?? "?"}; haproxy: ${weights}; /login: ${COLOURS.map((c) => `${c} ${s.health[c].ok ? "ok" : (s.health[c].status ?? s.health[c].error)}`).join(", ")}`,
    `  lock: ${s.lock ? `${s.lock.holder} (token ${s.lock.token}, until ${s.lock.expiresAt})` : "free"}; budget: ${s.budget.allowed ? `ok (${s.budget.switchesLastHour}/h, ${s.budget.switchesLastDay}/day)` : `refused until ${s.budget.allowedAt}: ${s.budget.reason}`}`,
    `  last backup: ${s.lastBackup ? `${s.lastBackup.id}${s.lastBackup.verified ? " (verified)" : " (NOT verified)"}` : "none"}; last switch: ${s.lastSwitch ? `${s.lastSwitch.outcome} ${s.lastSwitch.from}->${s.lastSwitch.to} at ${s.lastSwitch.at} by ${s.lastSwitch.actor}` : "none"}`,
  ];
  if (s.openSwitch) lines.push(`  OPEN SWITCH ${s.openSwitch.id}: ${s.openSwitch.from}->${s.openSwitch.to}, phase ${s.openSwitch.phase}, ${s.openSwitch.targetPercent} %${s.openSwitch.emergencyStop ? ", emergency stop requested" : ""}`);
  if (s.unknown.length) lines.push(`  could not read: ${s.unknown.join("; ")}`);
  return lines.join("\n");
}
