import * as fs from "fs";
import * as path from "path";
import { Colour } from "../../config/schema";
import { decodeArchive } from "./archive";
import { AuditRecorder, recordAudit } from "./audit";
import { MASTER_KEY_PATH } from "./critical-set";
import { BackupError, describeFsError } from "./errors";
import { withTeamLock } from "./lock";
import { BackupMetadata, Manifest, readJson } from "./manifest";
import { recoverSwap, stagingDirFor, swapIntoPlace } from "./swap";
import { TeamStore, extractObject, sha256Of } from "./store";
import { isSafeRelative, resolveId } from "./verify";

export interface RestoreOptions {
  store: TeamStore;
  team: string;
  id: string;
  /** The colour restored into, and its JENKINS_HOME. */
  colour: Colour;
  home: string;
  /** The team's active colour (stack config); restoring into it is refused without force. */
  activeColour?: Colour;
  /** Whether the colour's controller is running (injectable: docker, an HTTP probe, a test). */
  isRunning: () => Promise<boolean>;
  force?: boolean;
  now?: () => Date;
  audit?: AuditRecorder;
  actor?: string;
  reason?: string;
}

export interface RestoreResult {
  id: string;
  team: string;
  colour: Colour;
  home: string;
  /** Where the home's previous content was kept (absent when there was none). */
  aside?: string;
  files: number;
  bytes: number;
  masterKey: "restored" | "absent";
  notes: string[];
}

/**
 * Restores backup `id` into a colour's home: refuses while that colour is running or
 * active (unless forced), rebuilds the home from the archive and objects in a sibling
 * staging dir (each file checked against its sha256), then swaps it into place keeping
 * the old content aside (swap.ts). A damaged backup fails before the home is touched.
 */
export async function restoreBackup(opts: RestoreOptions): Promise<RestoreResult> {
  const { store, team, colour } = opts;
  if (!store.exists()) throw new BackupError(`no backup store for team '${team}' at ${store.dir} — check --store / backup.nfsPath`);
  if (!opts.force) {
    if (opts.activeColour === colour) {
      throw new BackupError(`refusing to restore into ${team} ${colour}: it is the active colour (teams.${team}.activeEnvironment) — restore into the standby colour and switch, or pass --force to overwrite the live home`);
    }
    if (await opts.isRunning()) {
      throw new BackupError(`refusing to restore into ${team} ${colour}: its controller is running and would keep the old home open — stop it first, or pass --force`);
    }
  }
  return withTeamLock(path.join(store.dir, ".lock"), team, "backup restore", () => restoreLocked(opts));
}

async function restoreLocked(opts: RestoreOptions): Promise<RestoreResult> {
  const { store, team, colour, home } = opts;
  const now = opts.now ?? (() => new Date());
  const started = now();
  const id = resolveId(store, opts.id);
  const dir = store.snapshotDir(id);
  const notes: string[] = [];
  const metadata = readJson<BackupMetadata>(path.join(dir, "metadata.json"), "backup metadata");
  const manifestText = fs.readFileSync(path.join(dir, "manifest.json"));
  if (sha256Of(manifestText) !== metadata.manifestSha256) throw new BackupError(`backup ${id} is damaged: manifest.json changed since it was written — run 'jenkins-ha backup verify --team ${team} --id ${id}' and restore another id`);
  const manifest = JSON.parse(manifestText.toString("utf8")) as Manifest;
  try {
    const archive = fs.readFileSync(path.join(dir, "archive.jha.gz"));
    if (sha256Of(archive) !== metadata.archiveSha256) throw new Error("sha256 differs from metadata");
    decodeArchive(archive);
  } catch (err) {
    throw new BackupError(`backup ${id} is damaged: archive.jha.gz ${(err as Error).message} — restore another id`);
  }

  fs.mkdirSync(path.dirname(home), { recursive: true });
  const recovered = recoverSwap(home);
  if (recovered) notes.push(recovered);
  const staging = stagingDirFor(home, `restore-${process.pid}`);
  const owner = ownerOf(home);
  try {
    fs.mkdirSync(staging, { mode: 0o755 });
    for (const e of manifest.entries) {
      if (!isSafeRelative(e.path)) throw new BackupError(`backup ${id} lists '${e.path}', which leaves the home — refusing; restore another id`);
      const target = path.join(staging, e.path);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      let got;
      try {
        got = await extractObject(store, e.sha256, target, e.mode);
      } catch (err) {
        throw new BackupError(`backup ${id} is damaged: ${e.path} (object ${e.sha256}) cannot be read: ${(err as Error).message} — nothing was changed in ${home}; restore another id`);
      }
      if (got.sha256 !== e.sha256 || got.size !== e.size) throw new BackupError(`backup ${id} is damaged: ${e.path} does not match its checksum — nothing was changed in ${home}; restore another id`);
      if (e.mtimeMs) fs.utimesSync(target, new Date(e.mtimeMs), new Date(e.mtimeMs));
    }
    let masterKey: RestoreResult["masterKey"] = "absent";
    if (metadata.masterKeySha256) {
      const key = fs.readFileSync(store.masterKeyPath(metadata.masterKeySha256));
      if (sha256Of(key) !== metadata.masterKeySha256) throw new BackupError(`the master key of backup ${id} (${store.masterKeyPath(metadata.masterKeySha256)}) is damaged — nothing was changed in ${home}`);
      const target = path.join(staging, MASTER_KEY_PATH);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, key, { mode: 0o600 });
      masterKey = "restored";
    }
    if (owner) chownTree(staging, owner.uid, owner.gid);
    const aside = await swapIntoPlace(home, staging, "restore", now());
    const result: RestoreResult = { id, team, colour, home, aside, files: manifest.entries.length, bytes: metadata.bytes, masterKey, notes };
    const warning = await recordAudit(opts.audit, {
      operation: "backup:restore", team, actor: opts.actor, reason: opts.reason, to: colour, outcome: "completed", startedAt: started, finishedAt: now(),
      metadata: { id, colour, home, aside: aside ?? null, force: opts.force === true },
    });
    if (warning) notes.push(warning);
    return result;
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    const error = describeFsError(err, "restoring into");
    await recordAudit(opts.audit, {
      operation: "backup:restore", team, actor: opts.actor, reason: opts.reason, to: colour, outcome: "failed", startedAt: started, finishedAt: now(),
      metadata: { id, colour, home, error: error.message },
    });
    throw error;
  }
}

/**
 * When run as root (the docker volume dirs are root's), restored files take the owner of
 * the home they replace — the Jenkins container runs as uid 1000 and must read them.
 */
export function ownerOf(home: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const st = fs.statSync(home);
    return { uid: st.uid, gid: st.gid };
  } catch {
    return undefined;
  }
}

export function chownTree(root: string, uid: number, gid: number): void {
  fs.chownSync(root, uid, gid);
  for (const d of fs.readdirSync(root, { withFileTypes: true })) {
    const p = path.join(root, d.name);
    if (d.isDirectory()) chownTree(p, uid, gid);
    else fs.lchownSync(p, uid, gid);
  }
}
