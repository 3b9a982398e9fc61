import { Colour } from "../../config/schema";
import { HealerCoordination, HealthRecord } from "../heal/healer";
import { AuditEntry, BudgetProof, HeldLease, SwitchCoordination, SwitchJournalEntry, SwitchOutcome } from "../switch/ports";
import { AuditLog } from "./audit";
import { BudgetLimits, budgetVerdict } from "./budget";
import { Database } from "./db";
import { LeaseHeld } from "./errors";
import { LeaseStore } from "./lease";

/**
 * The coordination store on PostgreSQL: what the switch orchestrator and the healer use
 * (leases with fencing, budget from the audit trail, audit, switch journal, heal flags).
 */
export class PgCoordination implements SwitchCoordination, HealerCoordination {
  readonly leases: LeaseStore;
  readonly auditLog: AuditLog;

  constructor(
    readonly db: Database,
    private readonly limits: BudgetLimits,
  ) {
    this.leases = new LeaseStore(db);
    this.auditLog = new AuditLog(db);
  }

  acquireLease(name: string, holder: string, ttlSeconds: number) {
    return this.leases.acquire(name, holder, ttlSeconds);
  }
  renewLease(lease: HeldLease, ttlSeconds: number) {
    return this.leases.renew(lease, ttlSeconds);
  }
  async releaseLease(lease: HeldLease) {
    await this.leases.release(lease);
  }
  assertFencing(lease: HeldLease) {
    return this.leases.assertFencing(lease);
  }

  async checkBudget(team: string, now: Date): Promise<BudgetProof> {
    return budgetVerdict(await this.auditLog.switchHistory(team), this.limits, now);
  }

  /**
   * Appends the audit row; a completed switch also records the team's new colour in
   * `jenkins_coordination`, in the same transaction (both or neither: a "completed" row
   * without the colour would count against the budget for a switch that then rolls back).
   */
  async audit(entry: AuditEntry): Promise<void> {
    if (!(entry.operation === "switch" && entry.outcome === "completed" && entry.to)) {
      await this.auditLog.record(entry);
      return;
    }
    await this.db.transaction(async (client) => {
      await this.auditLog.record(entry, client);
      await client.query(
        `INSERT INTO jenkins_coordination (team, active_environment, updated_by) VALUES ($1, $2, $3)
         ON CONFLICT (team) DO UPDATE SET active_environment = EXCLUDED.active_environment, updated_by = EXCLUDED.updated_by, updated_at = now()`,
        [entry.team, entry.to, entry.actor],
      );
    });
  }

  async journalBegin(e: SwitchJournalEntry): Promise<void> {
    await this.db.query(
      `INSERT INTO switch_journal (id, team, from_environment, to_environment, actor, reason, mode, phase, target_percent, committed, fencing_token, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [e.id, e.team, e.from, e.to, e.actor, e.reason, e.mode, e.phase, e.targetPercent, e.committed, e.token, e.startedAt],
    );
  }

  async journalUpdate(id: string, change: Partial<Pick<SwitchJournalEntry, "phase" | "targetPercent" | "committed" | "token">>): Promise<void> {
    await this.db.query(
      `UPDATE switch_journal SET phase = COALESCE($2, phase), target_percent = COALESCE($3, target_percent),
         committed = COALESCE($4, committed), fencing_token = COALESCE($5, fencing_token)
       WHERE id = $1 AND outcome IS NULL`,
      [id, change.phase ?? null, change.targetPercent ?? null, change.committed ?? null, change.token ?? null],
    );
  }

  async journalFinish(id: string, outcome: SwitchOutcome): Promise<void> {
    await this.db.query("UPDATE switch_journal SET outcome = $2, finished_at = now() WHERE id = $1 AND outcome IS NULL", [id, outcome]);
  }

  async journalOpen(team?: string): Promise<SwitchJournalEntry[]> {
    const rows = await this.db.query<Record<string, unknown>>(
      "SELECT * FROM switch_journal WHERE outcome IS NULL AND ($1::text IS NULL OR team = $1) ORDER BY started_at",
      [team ?? null],
    );
    return rows.map((r) => ({
      id: String(r.id),
      team: String(r.team),
      from: r.from_environment as Colour,
      to: r.to_environment as Colour,
      actor: String(r.actor),
      reason: String(r.reason),
      mode: r.mode as SwitchJournalEntry["mode"],
      phase: r.phase as SwitchJournalEntry["phase"],
      targetPercent: Number(r.target_percent),
      committed: Boolean(r.committed),
      startedAt: r.started_at as Date,
      token: Number(r.fencing_token),
      emergencyStop: Boolean(r.emergency_stop),
    }));
  }

  async requestEmergencyStop(team?: string): Promise<number> {
    const rows = await this.db.query("UPDATE switch_journal SET emergency_stop = true WHERE outcome IS NULL AND ($1::text IS NULL OR team = $1) RETURNING id", [team ?? null]);
    return rows.length;
  }

  // ---- healer side

  async ping(): Promise<void> {
    await this.db.query("SELECT 1");
  }

  async isPaused(team: string): Promise<{ paused: boolean; needsHuman: boolean }> {
    const rows = await this.db.query<{ paused: boolean; needs_human: boolean }>("SELECT paused, needs_human FROM heal_flags WHERE team = $1", [team]);
    return { paused: rows[0]?.paused ?? false, needsHuman: rows[0]?.needs_human ?? false };
  }

  async setHealFlags(team: string, flags: { paused?: boolean; needsHuman?: boolean }, reason: string, actor: string): Promise<void> {
    await this.db.query(
      `INSERT INTO heal_flags (team, paused, needs_human, reason, updated_by) VALUES ($1, COALESCE($2, false), COALESCE($3, false), $4, $5)
       ON CONFLICT (team) DO UPDATE SET paused = COALESCE($2, heal_flags.paused), needs_human = COALESCE($3, heal_flags.needs_human),
         reason = $4, updated_by = $5, updated_at = now()`,
      [team, flags.paused ?? null, flags.needsHuman ?? null, reason, actor],
    );
  }

  async markNeedsHuman(team: string, reason: string, actor: string): Promise<void> {
    await this.setHealFlags(team, { needsHuman: true }, reason, actor);
  }

  async actExclusively(team: string, holder: string, withinSeconds: number, work: () => Promise<void>): Promise<boolean> {
    let lease: HeldLease;
    try {
      lease = await this.leases.acquire(`team:${team}`, holder, Math.max(60, withinSeconds));
    } catch (err) {
      if (err instanceof LeaseHeld) return false;
      throw err;
    }
    try {
      const recent = await this.db.query(
        `SELECT 1 FROM deployment_audit WHERE team = $1 AND operation LIKE 'heal:%' AND outcome = 'done'
           AND started_at > now() - make_interval(secs => $2)`,
        [team, withinSeconds],
      );
      if (recent.length > 0) return false; // another healer acted on this team just now
      await work();
      return true;
    } finally {
      await this.leases.release(lease).catch(() => undefined);
    }
  }

  async recordHealth(entry: HealthRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO environment_state (team, environment, healthy, evidence, checked_at) VALUES ($1, $2, $3, $4::jsonb, $5)
       ON CONFLICT (team, environment) DO UPDATE SET healthy = EXCLUDED.healthy, evidence = EXCLUDED.evidence, checked_at = EXCLUDED.checked_at`,
      // Serialised here: pg would send a JS array as a PostgreSQL array, not as JSON.
      [entry.team, entry.environment, entry.healthy, JSON.stringify(entry.evidence), entry.checkedAt],
    );
  }

  async auditHeal(entry: Parameters<HealerCoordination["auditHeal"]>[0]): Promise<void> {
    const now = new Date();
    await this.auditLog.record({
      operation: `heal:${entry.action}`,
      team: entry.team,
      actor: entry.actor,
      reason: entry.reason,
      outcome: entry.outcome,
      startedAt: now,
      finishedAt: now,
      metadata: { dryRun: entry.dryRun, evidence: entry.evidence, ...(entry.metadata ?? {}) },
    });
  }
}
