import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BackupLocked } from "./errors";

/**
 * One backup-side operation per team at a time (run, verify, restore, prune, sync): a lock
 * file created with O_EXCL holding `{pid, host, operation, startedAt}`. A lock whose pid is
 * dead on this host is stale (its holder was killed) and is taken over; a lock from another
 * host is never assumed stale, because its pid cannot be checked from here — the message
 * says how to remove it by hand.
 */

export interface LockInfo {
  pid: number;
  host: string;
  operation: string;
  startedAt: string;
}

export interface HeldLock {
  file: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function acquireTeamLock(file: string, team: string, operation: string): HeldLock {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const info: LockInfo = { pid: process.pid, host: os.hostname(), operation, startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o644);
      try {
        fs.writeSync(fd, JSON.stringify(info));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          try {
            const current = JSON.parse(fs.readFileSync(file, "utf8")) as LockInfo;
            if (current.pid === info.pid && current.host === info.host) fs.rmSync(file, { force: true });
          } catch {
            // Already gone.
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let holder: LockInfo | undefined;
    try {
      holder = JSON.parse(fs.readFileSync(file, "utf8")) as LockInfo;
    } catch {
      // Empty or unreadable: either its holder is between create and write (young file:
      // busy) or was killed right there (old file: stale).
      const young = (() => {
        try {
          return Date.now() - fs.statSync(file).mtimeMs < 10_000;
        } catch {
          return false;
        }
      })();
      if (young) throw new BackupLocked(`team '${team}' is busy: ${file} is being taken by another run — try again in a few seconds`);
      holder = undefined;
    }
    if (holder && (holder.host !== os.hostname() || alive(holder.pid))) {
      throw new BackupLocked(
        `team '${team}' is busy: '${holder.operation}' (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}) holds ${file} — wait for it to finish; if that process is gone (another host), remove the file by hand`,
      );
    }
    // Stale: its holder is dead. Remove it and try once more (O_EXCL decides any race).
    fs.rmSync(file, { force: true });
  }
  throw new BackupLocked(`team '${team}' is busy: the lock ${file} was taken while a stale one was being cleared — try again`);
}

export async function withTeamLock<T>(file: string, team: string, operation: string, work: () => Promise<T>): Promise<T> {
  const lock = acquireTeamLock(file, team, operation);
  try {
    return await work();
  } finally {
    lock.release();
  }
}
