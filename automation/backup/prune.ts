import * as fs from "fs";
import * as path from "path";
import { AuditRecorder, recordAudit } from "./audit";
import { BackupError } from "./errors";
import { withTeamLock } from "./lock";
import { BackupMetadata, Manifest, VerificationRecord } from "./manifest";
import { removeStaleStaging } from "./run";
import { TeamStore, idTime } from "./store";

export interface PruneOptions {
  store: TeamStore;
  retentionDays: number;
  dryRun?: boolean;
  now?: () => Date;
  audit?: AuditRecorder;
  actor?: string;
}

export interface PruneResult {
  team: string;
  deleted: string[];
  kept: string[];
  /** The newest backup whose verification passed: never deleted, whatever its age. */
  newestVerified: string | null;
  objectsRemoved: number;
  bytesFreed: number;
  masterKeysRemoved: number;
  dryRun: boolean;
  notes: string[];
}

export function verificationOf(store: TeamStore, id: string): VerificationRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(store.snapshotDir(id), "verified.json"), "utf8")) as VerificationRecord;
  } catch {
    return undefined;
  }
}

export function newestVerifiedId(store: TeamStore): string | null {
  const ids = store.listIds();
  for (let i = ids.length - 1; i >= 0; i--) if (verificationOf(store, ids[i])?.ok === true) return ids[i];
  return null;
}

/**
 * Retention: backups older than `retentionDays` go, except the newest verified one (a team
 * whose backups have all been failing for a month still has its last good one). Then the
 * objects and master keys no remaining backup references are garbage-collected. A backup
 * whose manifest cannot be read stops the GC (its objects cannot be known), never the
 * other way round.
 */
export async function pruneBackups(opts: PruneOptions): Promise<PruneResult> {
  const { store } = opts;
  if (!store.exists()) throw new BackupError(`no backup store for team '${store.team}' at ${store.dir} — check --store / backup.nfsPath`);
  return withTeamLock(path.join(store.dir, ".lock"), store.team, "backup prune", () => pruneLocked(opts));
}

async function pruneLocked(opts: PruneOptions): Promise<PruneResult> {
  const { store } = opts;
  const now = opts.now ?? (() => new Date());
  const started = now();
  const dryRun = opts.dryRun === true;
  const cutoff = started.getTime() - opts.retentionDays * 86_400_000;
  const ids = store.listIds();
  const newestVerified = newestVerifiedId(store);
  const deleted = ids.filter((id) => id !== newestVerified && idTime(id).getTime() < cutoff);
  const kept = ids.filter((id) => !deleted.includes(id));
  const notes: string[] = [];
  if (!dryRun) {
    removeStaleStaging(store);
    for (const id of deleted) {
      // Renamed first, so a prune killed half-way never leaves a half-deleted "backup".
      const doomed = path.join(store.dir, `.deleting-${id}`);
      fs.renameSync(store.snapshotDir(id), doomed);
      fs.rmSync(doomed, { recursive: true, force: true });
    }
    for (const name of fs.readdirSync(store.dir)) if (name.startsWith(".deleting-")) fs.rmSync(path.join(store.dir, name), { recursive: true, force: true });
  }

  const referenced = new Set<string>();
  const keys = new Set<string>();
  let gcSafe = true;
  for (const id of kept) {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(store.snapshotDir(id), "manifest.json"), "utf8")) as Manifest;
      for (const e of manifest.entries) referenced.add(e.sha256);
      const metadata = JSON.parse(fs.readFileSync(path.join(store.snapshotDir(id), "metadata.json"), "utf8")) as BackupMetadata;
      if (metadata.masterKeySha256) keys.add(metadata.masterKeySha256);
    } catch (err) {
      gcSafe = false;
      notes.push(`backup ${id} is unreadable (${(err as Error).message}): objects were not garbage-collected — verify it and delete it by hand if it is damaged`);
    }
  }
  let objectsRemoved = 0;
  let bytesFreed = 0;
  let masterKeysRemoved = 0;
  if (gcSafe) {
    for (const sha of store.objectNames()) {
      if (referenced.has(sha)) continue;
      const file = store.objectPath(sha);
      bytesFreed += fs.statSync(file).size;
      objectsRemoved++;
      if (!dryRun) fs.rmSync(file, { force: true });
    }
    for (const name of fs.existsSync(store.masterKeyDir) ? fs.readdirSync(store.masterKeyDir) : []) {
      if (keys.has(name)) continue;
      masterKeysRemoved++;
      if (!dryRun) fs.rmSync(path.join(store.masterKeyDir, name), { force: true });
    }
  }
  const result: PruneResult = { team: store.team, deleted, kept, newestVerified, objectsRemoved, bytesFreed, masterKeysRemoved, dryRun, notes };
  if (!dryRun) {
    const warning = await recordAudit(opts.audit, {
      operation: "backup:prune", team: store.team, actor: opts.actor, outcome: "completed", startedAt: started, finishedAt: now(),
      metadata: { deleted, kept: kept.length, newestVerified, objectsRemoved, bytesFreed, retentionDays: opts.retentionDays },
    });
    if (warning) notes.push(warning);
  }
  return result;
}
