import { HeldLease } from "../switch/ports";
import { Database } from "./db";
import { LeaseHeld, StaleFencingToken } from "./errors";

interface LockRow extends Record<string, unknown> {
  lock_name: string;
  holder: string;
  fencing_token: string;
  expires_at: Date;
}

const toLease = (r: LockRow): HeldLease => ({ name: r.lock_name, holder: r.holder, token: Number(r.fencing_token), expiresAt: r.expires_at });

/**
 * Lease locks on rows of `coordination_locks`. Correctness rests on the row and its
 * fencing token, not on a session: a holder that dies simply stops renewing, the lease
 * expires, and the next taker gets a larger token; the old holder's writes then fail
 * `assertFencing`.
 */
export class LeaseStore {
  constructor(private readonly db: Database) {}

  async acquire(name: string, holder: string, ttlSeconds: number): Promise<HeldLease> {
    const rows = await this.db.query<LockRow>(
      `INSERT INTO coordination_locks (lock_name, holder, fencing_token, acquired_at, expires_at)
       VALUES ($1, $2, nextval('fencing_token_seq'), now(), now() + make_interval(secs => $3))
       ON CONFLICT (lock_name) DO UPDATE
         SET holder = EXCLUDED.holder, fencing_token = EXCLUDED.fencing_token,
             acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at
         WHERE coordination_locks.expires_at <= now()
       RETURNING lock_name, holder, fencing_token, expires_at`,
      [name, holder, ttlSeconds],
    );
    if (rows.length === 1) return toLease(rows[0]);
    const current = await this.show(name);
    if (!current) return this.acquire(name, holder, ttlSeconds); // released in between
    throw new LeaseHeld(name, current.holder, current.expiresAt);
  }

  async renew(lease: HeldLease, ttlSeconds: number): Promise<HeldLease> {
    const rows = await this.db.query<LockRow>(
      `UPDATE coordination_locks SET expires_at = now() + make_interval(secs => $3)
       WHERE lock_name = $1 AND fencing_token = $2 AND expires_at > now()
       RETURNING lock_name, holder, fencing_token, expires_at`,
      [lease.name, lease.token, ttlSeconds],
    );
    if (rows.length === 0) throw new StaleFencingToken(lease.name, lease.token);
    return toLease(rows[0]);
  }

  async release(lease: HeldLease): Promise<boolean> {
    const rows = await this.db.query("DELETE FROM coordination_locks WHERE lock_name = $1 AND fencing_token = $2 RETURNING 1", [lease.name, lease.token]);
    return rows.length === 1;
  }

  /** Throws unless `lease` is still the live holder with the newest token. */
  async assertFencing(lease: HeldLease): Promise<void> {
    const rows = await this.db.query("SELECT 1 FROM coordination_locks WHERE lock_name = $1 AND fencing_token = $2 AND expires_at > now()", [lease.name, lease.token]);
    if (rows.length === 0) throw new StaleFencingToken(lease.name, lease.token);
  }

  async show(name?: string): Promise<HeldLease | undefined> {
    const rows = await this.db.query<LockRow>("SELECT lock_name, holder, fencing_token, expires_at FROM coordination_locks WHERE lock_name = $1 AND expires_at > now()", [name]);
    return rows[0] ? toLease(rows[0]) : undefined;
  }

  async list(): Promise<HeldLease[]> {
    return (await this.db.query<LockRow>("SELECT lock_name, holder, fencing_token, expires_at FROM coordination_locks WHERE expires_at > now() ORDER BY lock_name")).map(toLease);
  }

  /** On-call override: removes the lease whoever holds it; returns what was removed. */
  async forceRelease(name: string): Promise<HeldLease | undefined> {
    const rows = await this.db.query<LockRow>("DELETE FROM coordination_locks WHERE lock_name = $1 RETURNING lock_name, holder, fencing_token, expires_at", [name]);
    return rows[0] ? toLease(rows[0]) : undefined;
  }
}
