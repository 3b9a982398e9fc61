import { OperatorError } from "../cli/errors";

/** No coordination: every operation that needs it refuses, nothing proceeds unlocked. */
export class CoordinationUnavailable extends OperatorError {
  constructor(detail: string, cause?: unknown) {
    super(
      `coordination database unreachable: manual mode (${detail}); nothing was changed — check JENKINS_HA_DATABASE_URL and the database, or follow the manual runbook in the README`,
      { cause, exitCode: 3 },
    );
  }
}

export class LeaseHeld extends OperatorError {
  constructor(
    readonly lockName: string,
    readonly holder: string,
    readonly expiresAt: Date,
  ) {
    super(`lease ${lockName} is held by ${holder} until ${expiresAt.toISOString()}; wait for it, or (on-call) 'jenkins-ha lock release --force --team ... --reason ...'`);
  }
}

/** A write presented a fencing token that is no longer the newest: the lease was lost. */
export class StaleFencingToken extends OperatorError {
  constructor(lockName: string, token: number) {
    super(`fencing token ${token} for ${lockName} is stale (the lease expired and was taken over); this process must stop changing anything`);
  }
}

const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH", "57P01", "57P02", "57P03"]);

/** Maps connection-level failures to CoordinationUnavailable; other errors pass through. */
export function asCoordinationError(err: unknown): unknown {
  const e = err as { code?: string; message?: string };
  if ((e?.code && (UNREACHABLE_CODES.has(e.code) || e.code.startsWith("08"))) || /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(e?.message ?? "")) {
    return new CoordinationUnavailable(e.message ?? String(err), err);
  }
  return err;
}
