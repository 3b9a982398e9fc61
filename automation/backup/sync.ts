import * as fs from "fs";
import * as path from "path";
import { Colour } from "../../config/schema";
import { AuditRecorder, recordAudit } from "./audit";
import { MASTER_KEY_PATH, Selection, listSelectedFiles } from "./critical-set";
import { BackupError, describeFsError } from "./errors";
import { testPause } from "./hooks";
import { QuietDownResult, busyExecutors, requestQuietDown } from "./jenkins-client";
import { withTeamLock } from "./lock";
import { chownTree, ownerOf } from "./restore";
import { assertHome } from "./run";
import { copyHashing, hashFile } from "./store";
import { recoverSwap, stagingDirFor, swapIntoPlace } from "./swap";

export interface SyncOptions {
  team: string;
  from: Colour;
  to: Colour;
  fromHome: string;
  toHome: string;
  selection: Selection;
  /** Where the team lock lives (the team's backup store dir), shared with backups and restores. */
  lockFile: string;
  /** The source controller, asked to quiet down first; none for a DR drill on plain dirs. */
  sourceUrl?: string;
  sourceAuth?: string;
  httpTimeoutMs?: number;
  now?: () => Date;
  audit?: AuditRecorder;
  actor?: string;
  reason?: string;
}

export interface SyncResult {
  team: string;
  from: Colour;
  to: Colour;
  files: number;
  bytes: number;
  quietDown: QuietDownResult | null;
  /** Busy executors on the source when the sync started (null: it could not be asked). */
  busyExecutors: number | null;
  buildsWereRunning: boolean;
  aside?: string;
  masterKey: "copied" | "absent";
  notes: string[];
}

/**
 * Copies the critical set of one colour's home to the other's. The source is asked to
 * quiet down first (two live controllers must never write the same data), then the set is
 * copied into a sibling staging dir of the target, checked file by file against what was
 * read from the source, and swapped into place (swap.ts) — the old target content is kept
 * aside. Killed at any point before the swap, the target is as it was.
 */
export async function syncHomes(opts: SyncOptions): Promise<SyncResult> {
  if (opts.from === opts.to) throw new BackupError(`sync --from and --to are both ${opts.from} — sync goes from the active colour to the other one`);
  assertHome(opts.fromHome, `source JENKINS_HOME (${opts.team} ${opts.from})`);
  if (path.resolve(opts.fromHome) === path.resolve(opts.toHome)) throw new BackupError(`sync source and target are the same directory ${opts.fromHome} — pass the other colour's home with --to-home`);
  return withTeamLock(opts.lockFile, opts.team, `sync ${opts.from}->${opts.to}`, () => syncLocked(opts));
}

async function syncLocked(opts: SyncOptions): Promise<SyncResult> {
  const now = opts.now ?? (() => new Date());
  const started = now();
  const notes: string[] = [];
  const timeout = opts.httpTimeoutMs ?? 3000;
  let quietDown: QuietDownResult | null = null;
  let busy: number | null = null;
  if (opts.sourceUrl) {
    quietDown = await requestQuietDown(opts.sourceUrl, timeout, opts.sourceAuth);
    busy = await busyExecutors(opts.sourceUrl, timeout, opts.sourceAuth);
    if (!quietDown.reachable) notes.push(`source ${opts.sourceUrl} unreachable (${quietDown.error}): no quiet-down requested`);
    else if (!quietDown.requested) notes.push(`source ${opts.sourceUrl} refused quiet-down (${quietDown.error}) — set JENKINS_HA_SOURCE_AUTH=user:apiToken`);
  }

  fs.mkdirSync(path.dirname(opts.toHome), { recursive: true });
  const recovered = recoverSwap(opts.toHome);
  if (recovered) notes.push(recovered);
  const staging = stagingDirFor(opts.toHome, `sync-${process.pid}`);
  try {
    fs.mkdirSync(staging, { mode: 0o755 });
    const files = listSelectedFiles(opts.fromHome, opts.selection);
    const copied = new Map<string, { sha256: string; size: number }>();
    for (const f of files) {
      const target = path.join(staging, f.rel);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      copied.set(f.rel, await copyHashing(f.abs, target, Number(f.stat.mode) & 0o7777));
      fs.utimesSync(target, f.stat.atime, f.stat.mtime);
    }
    let masterKey: SyncResult["masterKey"] = "absent";
    // The target must decrypt the synced secrets with the source's key: it travels too,
    // outside the manifest (it is never part of the critical-data set).
    const key = path.join(opts.fromHome, MASTER_KEY_PATH);
    if (fs.existsSync(key)) {
      const target = path.join(staging, MASTER_KEY_PATH);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(key, target);
      fs.chmodSync(target, 0o600);
      masterKey = "copied";
    }
    const owner = ownerOf(opts.toHome);
    if (owner) chownTree(staging, owner.uid, owner.gid);
    await testPause("sync:staged");
    const aside = await swapIntoPlace(opts.toHome, staging, "sync", now());
    const problems = await checkAgainst(opts.toHome, copied);
    if (problems.length > 0) {
      throw new BackupError(`sync ${opts.team} ${opts.from}->${opts.to}: the target does not match what was copied (${problems.slice(0, 5).join("; ")}) — the previous target content is in ${aside ?? "(none)"}; rerun the sync`);
    }
    const bytes = [...copied.values()].reduce((n, c) => n + c.size, 0);
    const result: SyncResult = {
      team: opts.team, from: opts.from, to: opts.to, files: copied.size, bytes, quietDown, busyExecutors: busy,
      buildsWereRunning: (busy ?? 0) > 0, aside, masterKey, notes,
    };
    const warning = await recordAudit(opts.audit, {
      operation: "backup:sync", team: opts.team, actor: opts.actor, reason: opts.reason, from: opts.from, to: opts.to, outcome: "completed", startedAt: started, finishedAt: now(),
      metadata: { files: result.files, bytes, busyExecutors: busy, quietDownRequested: quietDown?.requested ?? false, aside: aside ?? null },
    });
    if (warning) notes.push(warning);
    return result;
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    const error = describeFsError(err, "syncing");
    await recordAudit(opts.audit, {
      operation: "backup:sync", team: opts.team, actor: opts.actor, reason: opts.reason, from: opts.from, to: opts.to, outcome: "failed", startedAt: started, finishedAt: now(),
      metadata: { error: error.message },
    });
    throw error;
  }
}

/** The manifest check after the swap: every copied file there with the bytes read from the source, nothing else but master.key. */
async function checkAgainst(home: string, copied: Map<string, { sha256: string; size: number }>): Promise<string[]> {
  const problems: string[] = [];
  const seen = new Set<string>();
  const walk = async (rel: string) => {
    for (const d of fs.readdirSync(path.join(home, rel), { withFileTypes: true })) {
      const r = rel === "" ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) await walk(r);
      else if (r !== MASTER_KEY_PATH) {
        seen.add(r);
        const want = copied.get(r);
        if (!want) problems.push(`${r} is not part of the synced set`);
        else {
          const got = await hashFile(path.join(home, r));
          if (got.sha256 !== want.sha256) problems.push(`${r} differs`);
        }
      }
    }
  };
  await walk("");
  for (const r of copied.keys()) if (!seen.has(r)) problems.push(`${r} is missing`);
  return problems;
}
