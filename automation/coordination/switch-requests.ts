import { Colour } from "../../config/schema";
import { OperatorError } from "../cli/errors";
import { Database } from "./db";

/** Outcomes a request can end with; `expired` = voided before any worker claimed it. */
export const FINAL_REQUEST_STATUSES = ["completed", "rolled_back", "refused", "failed", "expired"] as const;
export type FinalRequestStatus = (typeof FINAL_REQUEST_STATUSES)[number];
export type RequestStatus = "pending" | "running" | FinalRequestStatus;

export interface SwitchRequestRow {
  id: number;
  stack: string;
  team: string;
  to: Colour;
  reason: string;
  requestedBy: string;
  requestedAt: Date;
  claimDeadline: Date;
  status: RequestStatus;
  claimedBy: string | null;
  claimedAt: Date | null;
  heartbeatAt: Date | null;
  finishedAt: Date | null;
  outcomeReason: string | null;
  switchId: string | null;
}

interface Row extends Record<string, unknown> {
  id: string;
  stack: string;
  team: string;
  to_environment: Colour;
  reason: string;
  requested_by: string;
  requested_at: Date;
  claim_deadline: Date;
  status: RequestStatus;
  claimed_by: string | null;
  claimed_at: Date | null;
  heartbeat_at: Date | null;
  finished_at: Date | null;
  outcome_reason: string | null;
  switch_id: string | null;
}

function fromRow(r: Row): SwitchRequestRow {
  return {
    id: Number(r.id),
    stack: r.stack,
    team: r.team,
    to: r.to_environment,
    reason: r.reason,
    requestedBy: r.requested_by,
    requestedAt: r.requested_at,
    claimDeadline: r.claim_deadline,
    status: r.status,
    claimedBy: r.claimed_by,
    claimedAt: r.claimed_at,
    heartbeatAt: r.heartbeat_at,
    finishedAt: r.finished_at,
    outcomeReason: r.outcome_reason,
    switchId: r.switch_id,
  };
}

/** A second request for a team whose open request asks for the other colour. */
export class ConflictingSwitchRequest extends OperatorError {}

/**
 * The `switch_requests` table (migration 003): the healer submits, a switch worker claims,
 * heartbeats and finishes. Every state change is one conditional UPDATE, so a request is
 * claimed by one worker at most, and a voided or finished request never changes again.
 */
export class SwitchRequestQueue {
  constructor(private readonly db: Database) {}

  /**
   * Opens a request, or returns the team's open request when it asks for the same colour
   * (a restarted or second healer waits on it instead of asking twice).
   */
  async submit(r: { stack: string; team: string; to: Colour; reason: string; requestedBy: string; claimWithinSeconds: number }): Promise<SwitchRequestRow> {
    const inserted = await this.db.query<Row>(
      `INSERT INTO switch_requests (stack, team, to_environment, reason, requested_by, claim_deadline)
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
       ON CONFLICT (stack, team) WHERE status IN ('pending', 'running') DO NOTHING
       RETURNING *`,
      [r.stack, r.team, r.to, r.reason, r.requestedBy, r.claimWithinSeconds],
    );
    if (inserted[0]) return fromRow(inserted[0]);
    const open = await this.open(r.stack, r.team);
    if (!open) return this.submit(r); // finished between the two statements: ask again
    if (open.to !== r.to) {
      throw new ConflictingSwitchRequest(
        `team '${r.team}' already has switch request ${open.id} to ${open.to} (${open.status}, by ${open.requestedBy}); wait for it, or void it with 'jenkins-ha switch-requests void ${open.id} --reason ...'`,
      );
    }
    return open;
  }

  async open(stack: string, team: string): Promise<SwitchRequestRow | undefined> {
    const rows = await this.db.query<Row>(`SELECT * FROM switch_requests WHERE stack = $1 AND team = $2 AND status IN ('pending', 'running')`, [stack, team]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async get(id: number): Promise<SwitchRequestRow | undefined> {
    const rows = await this.db.query<Row>(`SELECT * FROM switch_requests WHERE id = $1`, [id]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  async list(stack: string, options: { limit?: number } = {}): Promise<SwitchRequestRow[]> {
    const rows = await this.db.query<Row>(`SELECT * FROM switch_requests WHERE stack = $1 ORDER BY id DESC LIMIT $2`, [stack, options.limit ?? 20]);
    return rows.map(fromRow);
  }

  /**
   * Takes the oldest pending request of the stack that is still within its claim deadline
   * (SKIP LOCKED: workers never wait on each other), marking it running with a heartbeat.
   */
  async claimNext(stack: string, worker: string): Promise<SwitchRequestRow | undefined> {
    const rows = await this.db.query<Row>(
      `UPDATE switch_requests SET status = 'running', claimed_by = $2, claimed_at = now(), heartbeat_at = now()
       WHERE id = (SELECT id FROM switch_requests
                   WHERE stack = $1 AND status = 'pending' AND claim_deadline > now()
                   ORDER BY requested_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [stack, worker],
    );
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /** The worker is alive and still switching. False when the request is no longer its own. */
  async heartbeat(id: number, worker: string): Promise<boolean> {
    const rows = await this.db.query(`UPDATE switch_requests SET heartbeat_at = now() WHERE id = $1 AND status = 'running' AND claimed_by = $2 RETURNING id`, [id, worker]);
    return rows.length === 1;
  }

  /** Records how the switch ended. False when the request was already ended by someone else. */
  async finish(id: number, worker: string, status: Exclude<FinalRequestStatus, "expired">, reason: string | undefined, switchId?: string): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE switch_requests SET status = $3, outcome_reason = $4, switch_id = $5, finished_at = now()
       WHERE id = $1 AND status = 'running' AND claimed_by = $2 RETURNING id`,
      [id, worker, status, reason ?? null, switchId ?? null],
    );
    return rows.length === 1;
  }

  /**
   * Ends a request the requester stops waiting for: a pending one past its claim deadline
   * becomes `expired` (no worker will start it), a running one whose heartbeat is older than
   * `staleAfterSeconds` becomes `failed` (its worker was killed; the switch journal lets the
   * team's next switch or rollback finish what it left). Returns the row as it now is.
   */
  async reap(id: number, staleAfterSeconds: number): Promise<SwitchRequestRow | undefined> {
    await this.db.query(
      `UPDATE switch_requests SET status = 'expired', finished_at = now(),
              outcome_reason = 'no switch worker claimed the request before ' || to_char(claim_deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
       WHERE id = $1 AND status = 'pending' AND claim_deadline <= now()`,
      [id],
    );
    await this.db.query(
      `UPDATE switch_requests SET status = 'failed', finished_at = now(),
              outcome_reason = 'switch worker ' || claimed_by || ' stopped reporting (last heartbeat ' || to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '); the next switch or rollback of the team finishes the interrupted switch from its journal'
       WHERE id = $1 AND status = 'running' AND heartbeat_at < now() - make_interval(secs => $2)`,
      [id, staleAfterSeconds],
    );
    return this.get(id);
  }

  /** Emergency stop: every pending request of the stack (or of one team) is voided, so no worker starts it. */
  async voidPending(stack: string, team: string | undefined, reason: string): Promise<SwitchRequestRow[]> {
    const rows = await this.db.query<Row>(
      `UPDATE switch_requests SET status = 'expired', finished_at = now(), outcome_reason = $3
       WHERE stack = $1 AND ($2::text IS NULL OR team = $2) AND status = 'pending' RETURNING *`,
      [stack, team ?? null, reason],
    );
    return rows.map(fromRow);
  }

  /** On-call: void an open request (pending: never started; running: only the record, the switch itself is stopped with emergency-stop). */
  async void(id: number, reason: string): Promise<SwitchRequestRow | undefined> {
    const rows = await this.db.query<Row>(
      `UPDATE switch_requests SET status = CASE WHEN status = 'pending' THEN 'expired' ELSE 'failed' END, finished_at = now(), outcome_reason = $2
       WHERE id = $1 AND status IN ('pending', 'running') RETURNING *`,
      [id, `voided by on-call: ${reason}`],
    );
    return rows[0] ? fromRow(rows[0]) : undefined;
  }
}
