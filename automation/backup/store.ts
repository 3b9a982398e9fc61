import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { pipeline } from "stream/promises";
import * as zlib from "zlib";
import { BackupError } from "./errors";

/**
 * The backup store of one team, on NFS (`<nfsPath>/<team>`) or any directory:
 *
 *   objects/<sha256>          file contents, gzip'd, named by the sha256 of the *uncompressed*
 *                             content. Content-addressed, so a file that did not change since
 *                             the last run is never copied again (a run with nothing changed
 *                             writes only its manifest), and identical files (e.g. the same
 *                             job config in two folders) are stored once. Written to a temp
 *                             name and renamed, so an object is either whole or absent.
 *   <id>/manifest.json        every file of the snapshot: path, size, sha256, mode (+ the
 *                             stat fields the next run uses to skip re-hashing)
 *   <id>/metadata.json        team, colour, Jenkins version, plugin list, mode, digests
 *   <id>/archive.jha.gz       the snapshot's archive (archive.ts): every entry, checksummed
 *   <id>/plugins.txt          the plugin list, `name:version` (plugin-installation-manager format)
 *   <id>/verified.json        the last verification's result
 *   master-key/<sha256>       secrets/master.key, mode 0600 in a 0700 dir, never in an archive
 *   .lock                     the team lock (lock.ts)
 *   .staging-<id>/            a run in progress; renamed to <id> when complete
 *
 * Snapshot ids are UTC timestamps (`2024-05-01T02-00-00-000Z`): they sort by time.
 */

export const ID_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

export function snapshotId(at: Date): string {
  return at.toISOString().replace(/[:.]/g, "-");
}

export function idTime(id: string): Date {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/.exec(id);
  if (!m) throw new BackupError(`'${id}' is not a backup id (expected e.g. 2024-05-01T02-00-00-000Z; list them with 'jenkins-ha backup list --team <team>')`);
  return new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`);
}

export class TeamStore {
  readonly dir: string;

  constructor(
    readonly root: string,
    readonly team: string,
  ) {
    this.dir = path.join(root, team);
  }

  get objectsDir(): string {
    return path.join(this.dir, "objects");
  }
  get masterKeyDir(): string {
    return path.join(this.dir, "master-key");
  }
  objectPath(sha256: string): string {
    return path.join(this.objectsDir, sha256);
  }
  masterKeyPath(sha256: string): string {
    return path.join(this.masterKeyDir, sha256);
  }
  snapshotDir(id: string): string {
    return path.join(this.dir, id);
  }
  stagingDir(id: string): string {
    return path.join(this.dir, `.staging-${id}`);
  }

  /**
   * Refuses a store root that does not exist: an unmounted NFS path must not silently turn
   * into a local directory that fills the host's disk. The team dir is created.
   */
  ensure(): void {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.root);
    } catch {
      throw new BackupError(`backup store ${this.root} does not exist — mount the NFS export there (backup.nfs / backup.nfsPath) or pass --store <dir>`);
    }
    if (!st.isDirectory()) throw new BackupError(`backup store ${this.root} is not a directory — set backup.nfsPath or --store to a directory`);
    fs.mkdirSync(this.objectsDir, { recursive: true });
  }

  exists(): boolean {
    return fs.existsSync(this.dir);
  }

  /** Every complete snapshot id, oldest first. */
  listIds(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.filter((n) => ID_PATTERN.test(n) && fs.existsSync(path.join(this.dir, n, "manifest.json"))).sort();
  }

  /** The names of the objects present (one readdir instead of a stat per file). */
  objectNames(): Set<string> {
    try {
      return new Set(fs.readdirSync(this.objectsDir).filter((n) => /^[0-9a-f]{64}$/.test(n)));
    } catch {
      return new Set();
    }
  }

  /** A fresh id after every existing one (two runs in the same millisecond get distinct ids). */
  newId(now: Date): string {
    let t = now.getTime();
    const last = this.listIds().at(-1);
    if (last && idTime(last).getTime() >= t) t = idTime(last).getTime() + 1;
    return snapshotId(new Date(t));
  }
}

export interface StoredObject {
  sha256: string;
  size: number;
  /** True when this call created the object (it was not in the store before). */
  created: boolean;
}

/**
 * Streams `file` into the store: hashes while compressing to a temp file, then renames it
 * to its content address (or drops it if that object already exists). The size is what
 * was read, not what stat said, so a file that grows during the read is recorded as read.
 */
export async function storeFile(store: TeamStore, file: string): Promise<StoredObject> {
  const tmp = path.join(store.objectsDir, `.tmp-${process.pid}-${crypto.randomBytes(6).toString("hex")}`);
  const hash = crypto.createHash("sha256");
  let size = 0;
  try {
    await pipeline(
      fs.createReadStream(file),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      zlib.createGzip({ level: 6 }),
      fs.createWriteStream(tmp, { flags: "wx", mode: 0o640 }),
    );
    const sha256 = hash.digest("hex");
    const target = store.objectPath(sha256);
    if (fs.existsSync(target)) {
      fs.rmSync(tmp, { force: true });
      return { sha256, size, created: false };
    }
    fs.renameSync(tmp, target);
    return { sha256, size, created: true };
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Writes the uncompressed content of object `sha256` to `target` (created exclusively, with
 * `mode`), returning what was actually written: callers compare it with what they expect.
 * Throws when the object is missing or its gzip stream is damaged or truncated.
 */
export async function extractObject(store: TeamStore, sha256: string, target: string, mode: number): Promise<{ sha256: string; size: number }> {
  return copyHashing(store.objectPath(sha256), target, mode, { gunzip: true });
}

/**
 * Copies `source` (gunzipped on the way when asked) into a new file `target` (never over an
 * existing one), with `mode`, and returns the sha256 and size of what was written.
 */
export async function copyHashing(source: string, target: string, mode: number, options: { gunzip?: boolean } = {}): Promise<{ sha256: string; size: number }> {
  const hash = crypto.createHash("sha256");
  let size = 0;
  const hashing = async function* (chunks: AsyncIterable<Buffer>) {
    for await (const chunk of chunks) {
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
    }
  };
  const input = fs.createReadStream(source);
  const output = fs.createWriteStream(target, { flags: "wx", mode });
  if (options.gunzip) await pipeline(input, zlib.createGunzip(), hashing, output);
  else await pipeline(input, hashing, output);
  // The umask may have narrowed the mode at create time.
  fs.chmodSync(target, mode);
  return { sha256: hash.digest("hex"), size };
}

/** sha256 and size of a file's content. */
export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = crypto.createHash("sha256");
  let size = 0;
  for await (const chunk of fs.createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest("hex"), size };
}

export function sha256Of(data: Buffer | string): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}

/** Writes a file durably and atomically (temp + fsync + rename): readers see old or new, never half. */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, "w", mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some file systems (and NFS clients) refuse fsync on a directory; the rename is still atomic.
  }
}
