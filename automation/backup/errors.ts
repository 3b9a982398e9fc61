import { OperatorError } from "../cli/errors";

/** A backup/restore/sync refusal or failure: the message names the cause and the fix. */
export class BackupError extends OperatorError {}

/** Another run holds the team's backup lock. */
export class BackupLocked extends BackupError {
  constructor(message: string) {
    super(message, { exitCode: 3 });
  }
}

/** `backup verify` found a problem: the backup must not be trusted. */
export class VerificationFailed extends BackupError {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message, { exitCode: 4 });
  }
}

/**
 * Turns a file-system error into an operator message: which path, what went wrong, and
 * what to do about it (no space, permissions, missing directory).
 */
export function describeFsError(err: unknown, doing: string): OperatorError {
  if (err instanceof OperatorError) return err;
  const e = err as NodeJS.ErrnoException;
  const where = e?.path ? ` ${e.path}` : "";
  switch (e?.code) {
    case "ENOSPC":
      return new BackupError(`no space left while ${doing}${where} (ENOSPC) — free space on the backup store or point backup.nfsPath / --store at a larger one; the partial output of this run was removed and earlier backups are untouched`, { cause: err });
    case "EDQUOT":
      return new BackupError(`disk quota exceeded while ${doing}${where} (EDQUOT) — raise the quota of the backup store; the partial output of this run was removed`, { cause: err });
    case "EACCES":
    case "EPERM":
      return new BackupError(`permission denied while ${doing}${where} (${e.code}) — make it readable/writable by uid ${process.getuid?.() ?? "?"} (the user the backup runs as), or add it to backup.exclude; the partial output of this run was removed`, { cause: err });
    case "ENOENT":
      return new BackupError(`not found while ${doing}${where} (ENOENT) — check the path (--home / --store, or backup.nfsPath)`, { cause: err });
    case "EROFS":
      return new BackupError(`read-only file system while ${doing}${where} (EROFS) — mount the backup store read-write`, { cause: err });
    default:
      return new BackupError(`${doing}${where} failed: ${e instanceof Error ? e.message : String(err)}`, { cause: err });
  }
}
