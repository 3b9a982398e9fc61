import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { decodeArchive } from "./archive";
import { AuditRecorder, recordAudit } from "./audit";
import { BackupError } from "./errors";
import { withTeamLock } from "./lock";
import { BackupMetadata, Manifest, ManifestEntry, VerificationRecord } from "./manifest";
import { TeamStore, extractObject, hashFile, sha256Of, writeFileAtomic } from "./store";

export interface VerifyOptions {
  store: TeamStore;
  /** Default: the newest backup. */
  id?: string;
  /** Where the test restore goes (a fresh temp dir inside it); default the OS temp dir. */
  tempRoot?: string;
  now?: () => Date;
  audit?: AuditRecorder;
  actor?: string;
}

export interface VerifyResult extends VerificationRecord {
  team: string;
  warnings: string[];
}

/** Problems listed one by one up to this many per check, then summarised. */
const MAX_LISTED = 20;

export function resolveId(store: TeamStore, id: string | undefined): string {
  const ids = store.listIds();
  if (id === undefined) {
    const newest = ids.at(-1);
    if (!newest) throw new BackupError(`no backups of team '${store.team}' in ${store.dir} — run 'jenkins-ha backup run --team ${store.team}' first`);
    return newest;
  }
  if (!ids.includes(id)) {
    const recent = ids.slice(-5).join(", ") || "none";
    throw new BackupError(`backup '${id}' of team '${store.team}' not found in ${store.dir} — recent ids: ${recent} ('jenkins-ha backup list --team ${store.team}')`);
  }
  return id;
}

/**
 * Verifies one backup: the digests of manifest and archive against metadata, the archive
 * readable and equal to the manifest, then a test restore into a temp dir (every object
 * decompressed and its sha256 checked) compared file by file with the manifest, and the
 * master key present with mode 0600. The result is written to `<id>/verified.json` and
 * never says ok when anything is wrong.
 */
export async function verifyBackup(opts: VerifyOptions): Promise<VerifyResult> {
  const { store } = opts;
  if (!store.exists()) throw new BackupError(`no backup store for team '${store.team}' at ${store.dir} — check --store / backup.nfsPath (is the NFS export mounted?)`);
  return withTeamLock(path.join(store.dir, ".lock"), store.team, "backup verify", () => verifyLocked(opts));
}

async function verifyLocked(opts: VerifyOptions): Promise<VerifyResult> {
  const { store } = opts;
  const now = opts.now ?? (() => new Date());
  const started = now();
  const t0 = performance.now();
  const id = resolveId(store, opts.id);
  const dir = store.snapshotDir(id);
  const problems: string[] = [];
  const limited = (list: string[]) => (list.length > MAX_LISTED ? [...list.slice(0, MAX_LISTED), `... and ${list.length - MAX_LISTED} more`] : list);

  let metadata: BackupMetadata | undefined;
  try {
    metadata = JSON.parse(fs.readFileSync(path.join(dir, "metadata.json"), "utf8")) as BackupMetadata;
  } catch (err) {
    problems.push(`metadata.json is unreadable (${(err as Error).message})`);
  }

  let manifest: Manifest | undefined;
  try {
    const text = fs.readFileSync(path.join(dir, "manifest.json"));
    if (metadata && sha256Of(text) !== metadata.manifestSha256) problems.push(`manifest.json: sha256 ${sha256Of(text)} differs from the ${metadata.manifestSha256} recorded at backup time (changed or damaged)`);
    manifest = JSON.parse(text.toString("utf8")) as Manifest;
    if (!Array.isArray(manifest.entries)) throw new Error("no entries list");
  } catch (err) {
    problems.push(`manifest.json is unreadable (${(err as Error).message})`);
    manifest = undefined;
  }

  const archiveFile = path.join(dir, "archive.jha.gz");
  try {
    const data = fs.readFileSync(archiveFile);
    if (metadata && sha256Of(data) !== metadata.archiveSha256) problems.push(`archive.jha.gz: sha256 ${sha256Of(data)} differs from the ${metadata.archiveSha256} recorded at backup time (changed or damaged)`);
    const entries = decodeArchive(data);
    if (manifest) problems.push(...limited(compareArchive(entries, manifest.entries)));
  } catch (err) {
    problems.push(`archive.jha.gz: ${(err as Error).message}`);
  }

  let files = 0;
  let bytes = 0;
  if (manifest) {
    const temp = fs.mkdtempSync(path.join(opts.tempRoot ?? os.tmpdir(), `jenkins-ha-verify-${store.team}-`));
    try {
      const restoreProblems = await testRestore(store, manifest.entries, temp);
      problems.push(...limited(restoreProblems));
      const compareProblems = await compareTree(temp, manifest.entries);
      problems.push(...limited(compareProblems));
      files = manifest.entries.length;
      bytes = manifest.entries.reduce((n, e) => n + e.size, 0);
      if (metadata && metadata.files !== files) problems.push(`metadata.json says ${metadata.files} files, the manifest lists ${files}`);
    } finally {
      fs.rmSync(temp, { recursive: true, force: true });
    }
  }

  if (metadata?.masterKeySha256) problems.push(...checkMasterKey(store, metadata.masterKeySha256));

  const record: VerificationRecord = {
    ok: problems.length === 0,
    id,
    verifiedAt: now().toISOString(),
    files,
    bytes,
    durationMs: Math.round(performance.now() - t0),
    problems,
  };
  const warnings: string[] = [];
  try {
    writeFileAtomic(path.join(dir, "verified.json"), JSON.stringify(record, null, 2) + "\n");
  } catch (err) {
    warnings.push(`could not write ${path.join(dir, "verified.json")}: ${(err as Error).message}`);
  }
  const auditWarning = await recordAudit(opts.audit, {
    operation: "backup:verify", team: store.team, actor: opts.actor, outcome: record.ok ? "completed" : "failed", startedAt: started, finishedAt: now(),
    metadata: { id, ok: record.ok, files, bytes, problems: problems.slice(0, MAX_LISTED) },
  });
  if (auditWarning) warnings.push(auditWarning);
  return { ...record, team: store.team, warnings };
}

function compareArchive(archive: { path: string; size: number; sha256: string; mode: number }[], manifest: ManifestEntry[]): string[] {
  const problems: string[] = [];
  const byPath = new Map(manifest.map((e) => [e.path, e]));
  const seen = new Set<string>();
  for (const a of archive) {
    seen.add(a.path);
    const m = byPath.get(a.path);
    if (!m) problems.push(`archive.jha.gz lists ${a.path}, which the manifest does not`);
    else if (m.sha256 !== a.sha256 || m.size !== a.size || m.mode !== a.mode) problems.push(`archive.jha.gz and manifest.json disagree about ${a.path}`);
  }
  for (const m of manifest) if (!seen.has(m.path)) problems.push(`manifest.json lists ${m.path}, which the archive does not`);
  return problems;
}

/** Decompresses every object into `temp`, checking content sha256 and size against the manifest. */
async function testRestore(store: TeamStore, entries: ManifestEntry[], temp: string): Promise<string[]> {
  const problems: string[] = [];
  const present = store.objectNames();
  for (const e of entries) {
    if (!isSafeRelative(e.path)) {
      problems.push(`manifest path '${e.path}' leaves the home (absolute or '..'): refusing to restore it`);
      continue;
    }
    if (!present.has(e.sha256)) {
      problems.push(`${e.path}: object ${e.sha256} is missing from ${store.objectsDir}`);
      continue;
    }
    const target = path.join(temp, e.path);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    try {
      const got = await extractObject(store, e.sha256, target, 0o600);
      if (got.sha256 !== e.sha256) problems.push(`${e.path}: object ${e.sha256} is damaged (its content hashes to ${got.sha256})`);
      else if (got.size !== e.size) problems.push(`${e.path}: restored ${got.size} bytes, the manifest says ${e.size}`);
    } catch (err) {
      problems.push(`${e.path}: object ${e.sha256} is unreadable or damaged (${(err as Error).message})`);
      fs.rmSync(target, { force: true });
    }
  }
  return problems;
}

/** The restored tree, file by file, against the manifest: nothing missing, nothing extra, same bytes. */
async function compareTree(root: string, entries: ManifestEntry[]): Promise<string[]> {
  const problems: string[] = [];
  const onDisk = new Set<string>();
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel === "" ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) walk(r);
      else onDisk.add(r);
    }
  };
  walk("");
  for (const e of entries) {
    if (!onDisk.has(e.path)) continue; // already reported by the test restore
    onDisk.delete(e.path);
    const got = await hashFile(path.join(root, e.path));
    if (got.sha256 !== e.sha256 || got.size !== e.size) problems.push(`${e.path}: test-restored file differs from the manifest (sha256 ${got.sha256}, ${got.size} bytes)`);
  }
  for (const extra of onDisk) problems.push(`${extra}: restored but not in the manifest`);
  return problems;
}

function checkMasterKey(store: TeamStore, sha: string): string[] {
  const file = store.masterKeyPath(sha);
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (err) {
    return [`master key ${file} is missing or unreadable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`];
  }
  const problems: string[] = [];
  if (sha256Of(data) !== sha) problems.push(`master key ${file} is damaged (sha256 differs)`);
  const mode = fs.statSync(file).mode & 0o777;
  if (mode !== 0o600) problems.push(`master key ${file} has mode ${mode.toString(8)}, must be 600 — chmod 600 it`);
  return problems;
}

export function isSafeRelative(rel: string): boolean {
  return rel !== "" && !path.isAbsolute(rel) && !rel.split("/").some((s) => s === ".." || s === "." || s === "");
}
