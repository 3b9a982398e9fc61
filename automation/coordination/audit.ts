import { PoolClient } from "pg";
import { AuditEntry } from "../switch/ports";
import { Database } from "./db";

export interface AuditRow {
  id: number;
  operation: string;
  team: string | null;
  actor: string;
  reason: string;
  from: string | null;
  to: string | null;
  outcome: string;
  startedAt: Date;
  finishedAt: Date;
  metadata: Record<string, unknown>;
}

/** A generic audit record (switches use AuditEntry; heal actions, overrides, backups too). */
export type AuditRecord = Omit<AuditEntry, "operation" | "outcome" | "team"> & {
  operation: string;
  outcome: string;
  /** null for platform-wide operations (an emergency stop of everything). */
  team: string | null;
};

export interface ComplianceRow {
  team: string;
  switches: number;
  rollbacks: number;
  healActions: number;
  budgetRefusals: number;
  emergencyStops: number;
  overrides: number;
}

/** Parses "24h", "30m", "7d" into milliseconds. */
export function parseSince(since: string): number {
  const m = /^(\d+)([smhd])$/.exec(since.trim());
  if (!m) throw new Error(`--since '${since}' is not a duration; use e.g. 30m, 24h, 7d`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s" | "m" | "h" | "d"];
}

export class AuditLog {
  constructor(private readonly db: Database) {}

  /** Appends one row; with `client`, inside that client's transaction. */
  async record(entry: AuditRecord, client?: Pick<PoolClient, "query">): Promise<void> {
    const text = `INSERT INTO deployment_audit (operation, team, actor, reason, from_environment, to_environment, outcome, started_at, finished_at, metadata)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`;
    const values = [entry.operation, entry.team, entry.actor, entry.reason, entry.from ?? null, entry.to ?? null, entry.outcome, entry.startedAt, entry.finishedAt, JSON.stringify(entry.metadata ?? {})];
    if (client) await client.query(text, values);
    else await this.db.query(text, values);
  }

  async query(options: { team?: string; sinceMs?: number; operation?: string } = {}): Promise<AuditRow[]> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT id, operation, team, actor, reason, from_environment, to_environment, outcome, started_at, finished_at, metadata
       FROM deployment_audit
       WHERE ($1::text IS NULL OR team = $1) AND ($3::text IS NULL OR operation = $3)
         AND started_at >= now() - make_interval(secs => $2::double precision / 1000)
       ORDER BY started_at, id`,
      [options.team ?? null, options.sinceMs ?? 86_400_000, options.operation ?? null],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      operation: String(r.operation),
      team: (r.team as string | null) ?? null,
      actor: String(r.actor),
      reason: String(r.reason),
      from: (r.from_environment as string | null) ?? null,
      to: (r.to_environment as string | null) ?? null,
      outcome: String(r.outcome),
      startedAt: r.started_at as Date,
      finishedAt: r.finished_at as Date,
      metadata: r.metadata as Record<string, unknown>,
    }));
  }

  /** Completed and failed switch start times of a team, for the budget. */
  async switchHistory(team: string): Promise<{ completed: Date[]; failed: Date[] }> {
    const rows = await this.db.query<{ outcome: string; started_at: Date }>(
      `SELECT outcome, started_at FROM deployment_audit
       WHERE team = $1 AND operation = 'switch' AND outcome IN ('completed', 'rolled_back', 'failed')
         AND started_at > now() - interval '1 day'`,
      [team],
    );
    return {
      completed: rows.filter((r) => r.outcome === "completed").map((r) => r.started_at),
      failed: rows.filter((r) => r.outcome !== "completed").map((r) => r.started_at),
    };
  }

  /** Switches, rollbacks, heal actions, budget refusals per team over a period. */
  async complianceReport(sinceMs: number): Promise<ComplianceRow[]> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT team,
         count(*) FILTER (WHERE operation = 'switch' AND outcome = 'completed') AS switches,
         count(*) FILTER (WHERE operation = 'rollback' OR outcome = 'rolled_back') AS rollbacks,
         count(*) FILTER (WHERE operation LIKE 'heal%' AND outcome <> 'monitor_only') AS heal_actions,
         count(*) FILTER (WHERE outcome = 'refused' AND metadata ? 'budget') AS budget_refusals,
         count(*) FILTER (WHERE operation = 'emergency_stop') AS emergency_stops,
         count(*) FILTER (WHERE operation = 'override') AS overrides
       FROM deployment_audit
       WHERE started_at >= now() - make_interval(secs => $1::double precision / 1000) AND team IS NOT NULL
       GROUP BY team ORDER BY team`,
      [sinceMs],
    );
    return rows.map((r) => ({
      team: String(r.team),
      switches: Number(r.switches),
      rollbacks: Number(r.rollbacks),
      healActions: Number(r.heal_actions),
      budgetRefusals: Number(r.budget_refusals),
      emergencyStops: Number(r.emergency_stops),
      overrides: Number(r.overrides),
    }));
  }
}
