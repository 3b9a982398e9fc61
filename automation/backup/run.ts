import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Colour } from "../../config/schema";
import { encodeArchive } from "./archive";
import { AuditRecorder, recordAudit } from "./audit";
import { MASTER_KEY_PATH, Selection, jenkinsVersion, listPlugins, listSelectedFiles } from "./critical-set";
import { BackupError, describeFsError } from "./errors";
import { testPause } from "./hooks";
import { withTeamLock } from "./lock";
import { BackupMetadata, HashCache, Manifest, ManifestEntry, entryFor, pluginsTxt } from "./manifest";
import { TeamStore, fsyncDir, sha256Of, storeFile, writeFileAtomic } from "./store";

export interface BackupRunOptions {
  team: string;
  colour: Colour;
  /** The JENKINS_HOME to back up (the active colour's). */
  home: string;
  store: TeamStore;
  selection: Selection;
  now?: () => Date;
  audit?: AuditRecorder;
  actor?: string;
  reason?: string;
}

export interface BackupRunResult {
  id: string;
  dir: string;
  team: string;
  colour: Colour;
  files: number;
  bytes: number;
  newObjects: number;
  newBytes: number;
  durationMs: number;
  jenkinsVersion: string | null;
  plugins: number;
  masterKey: "stored" | "absent";
  warnings: string[];
}

/** Files hashed/stored concurrently: enough to keep an NFS link busy, few enough for 2 cores. */
const PARALLEL = 8;

/**
 * Runs `work` over items, `limit` at a time. On the first failure no new item starts and
 * the call waits for the ones in flight before rethrowing, so the cleanup that follows sees
 * every object this run created (none is still being written behind its back).
 */
async function mapPool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i]);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

export function assertHome(home: string, what: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(home);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw describeFsError(err, `reading ${what}`);
    throw new BackupError(`${what} ${home} does not exist — pass --home <dir>, or check that the docker volume exists on this host (docker volume ls)`);
  }
  if (!st.isDirectory()) throw new BackupError(`${what} ${home} is not a directory — pass the JENKINS_HOME directory with --home`);
}

/**
 * Snapshot of the critical set of `home` into the store (store.ts explains the layout).
 * Everything is written under `.staging-<id>` and renamed to `<id>` only when complete;
 * on any failure the staging dir and the objects this run created are removed, so earlier
 * backups and the store stay exactly as they were.
 */
export async function runBackup(opts: BackupRunOptions): Promise<BackupRunResult> {
  assertHome(opts.home, `JENKINS_HOME of ${opts.team} ${opts.colour}`);
  opts.store.ensure();
  return withTeamLock(path.join(opts.store.dir, ".lock"), opts.team, "backup run", () => runLocked(opts));
}

async function runLocked(opts: BackupRunOptions): Promise<BackupRunResult> {
  const { store, team, colour, home, selection } = opts;
  const now = opts.now ?? (() => new Date());
  const started = now();
  const t0 = performance.now();
  removeStaleStaging(store);
  const id = store.newId(started);
  const staging = store.stagingDir(id);
  const createdObjects: string[] = [];
  const createdKeys: string[] = [];
  let auditWarning: string | undefined;
  try {
    fs.mkdirSync(staging, { recursive: false, mode: 0o755 });
    let files;
    try {
      files = listSelectedFiles(home, selection);
    } catch (err) {
      throw describeFsError(err, "listing the JENKINS_HOME");
    }
    const previous = store.listIds().at(-1);
    const cache = HashCache.fromSnapshot(previous ? store.snapshotDir(previous) : undefined);
    const present = store.objectNames();
    let newBytes = 0;
    const entries: ManifestEntry[] = await mapPool(files, PARALLEL, async (file) => {
      const known = cache.lookup(file);
      if (known && present.has(known.sha256)) return entryFor(file, known.sha256, known.size);
      let stored;
      try {
        stored = await storeFile(store, file.abs);
      } catch (err) {
        throw describeFsError(err, `backing up ${file.rel} from`);
      }
      if (stored.created) {
        createdObjects.push(stored.sha256);
        present.add(stored.sha256);
        newBytes += stored.size;
      }
      return entryFor(file, stored.sha256, stored.size);
    });

    const masterKeySha256 = storeMasterKey(store, home, createdKeys);
    const plugins = listPlugins(home);
    const manifest: Manifest = { format: "jenkins-ha-manifest/1", entries };
    const manifestText = JSON.stringify(manifest);
    const archive = encodeArchive(entries);
    const metadata: BackupMetadata = {
      format: "jenkins-ha-backup/1",
      id,
      team,
      colour,
      mode: selection.mode,
      createdAt: started.toISOString(),
      jenkinsVersion: jenkinsVersion(home),
      plugins,
      files: entries.length,
      bytes: entries.reduce((n, e) => n + e.size, 0),
      newObjects: createdObjects.length,
      newBytes,
      manifestSha256: sha256Of(manifestText),
      archiveSha256: sha256Of(archive),
      masterKeySha256,
      host: os.hostname(),
      include: selection.include,
      exclude: selection.exclude,
    };
    try {
      writeFileAtomic(path.join(staging, "manifest.json"), manifestText);
      writeFileAtomic(path.join(staging, "archive.jha.gz"), archive);
      writeFileAtomic(path.join(staging, "plugins.txt"), pluginsTxt(plugins));
      writeFileAtomic(path.join(staging, "metadata.json"), JSON.stringify(metadata, null, 2) + "\n");
      fsyncDir(staging);
      await testPause("run:staged");
      fs.renameSync(staging, store.snapshotDir(id));
      fsyncDir(store.dir);
    } catch (err) {
      throw describeFsError(err, "writing the snapshot to");
    }
    const result: BackupRunResult = {
      id,
      dir: store.snapshotDir(id),
      team,
      colour,
      files: metadata.files,
      bytes: metadata.bytes,
      newObjects: metadata.newObjects,
      newBytes,
      durationMs: Math.round(performance.now() - t0),
      jenkinsVersion: metadata.jenkinsVersion,
      plugins: plugins.length,
      masterKey: masterKeySha256 ? "stored" : "absent",
      warnings: [],
    };
    auditWarning = await recordAudit(opts.audit, {
      operation: "backup:run", team, actor: opts.actor, reason: opts.reason, outcome: "completed", startedAt: started, finishedAt: now(),
      metadata: { id, colour, files: result.files, bytes: result.bytes, newObjects: result.newObjects, mode: selection.mode },
    });
    if (auditWarning) result.warnings.push(auditWarning);
    return result;
  } catch (err) {
    // Partial output goes; nothing that existed before this run is touched.
    fs.rmSync(staging, { recursive: true, force: true });
    for (const sha of createdObjects) fs.rmSync(store.objectPath(sha), { force: true });
    for (const sha of createdKeys) fs.rmSync(store.masterKeyPath(sha), { force: true });
    const error = describeFsError(err, "running the backup");
    await recordAudit(opts.audit, {
      operation: "backup:run", team, actor: opts.actor, reason: opts.reason, outcome: "failed", startedAt: started, finishedAt: now(),
      metadata: { id, colour, error: error.message },
    });
    throw error;
  }
}

/**
 * master.key goes to `master-key/<sha256>` (dir 0700, file 0600), never into the archive or
 * objects: whoever can read the regular backups must not also get the key to the secrets in
 * them. Content-addressed like the objects, so an unchanged key is not rewritten.
 */
function storeMasterKey(store: TeamStore, home: string, created: string[]): string | null {
  const source = path.join(home, MASTER_KEY_PATH);
  let data: Buffer;
  try {
    data = fs.readFileSync(source);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw describeFsError(err, "reading master.key from");
  }
  const sha = sha256Of(data);
  fs.mkdirSync(store.masterKeyDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(store.masterKeyDir, 0o700);
  const target = store.masterKeyPath(sha);
  if (!fs.existsSync(target)) {
    writeFileAtomic(target, data, 0o600);
    fs.chmodSync(target, 0o600);
    created.push(sha);
  }
  return sha;
}

/** Staging dirs and temp objects of runs that were killed (we hold the team lock: nobody else is writing). */
export function removeStaleStaging(store: TeamStore): void {
  for (const name of safeReaddir(store.dir)) {
    if (name.startsWith(".staging-")) fs.rmSync(path.join(store.dir, name), { recursive: true, force: true });
  }
  for (const name of safeReaddir(store.objectsDir)) {
    if (name.startsWith(".tmp-")) fs.rmSync(path.join(store.objectsDir, name), { force: true });
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

