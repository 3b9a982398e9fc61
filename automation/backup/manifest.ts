import * as fs from "fs";
import * as path from "path";
import { Colour } from "../../config/schema";
import { BackupMode, PluginInfo, SelectedFile } from "./critical-set";
import { BackupError } from "./errors";

/** One file of a snapshot. `mode` is the permission bits (e.g. 0o600 for secrets). */
export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
  mode: number;
  mtimeMs: number;
  /** Stat fields of the source file when it was read, so the next run can skip re-hashing it. */
  mtimeNs: string;
  ino: string;
}

export interface Manifest {
  format: "jenkins-ha-manifest/1";
  entries: ManifestEntry[];
}

export interface BackupMetadata {
  format: "jenkins-ha-backup/1";
  id: string;
  team: string;
  colour: Colour;
  mode: BackupMode;
  createdAt: string;
  jenkinsVersion: string | null;
  plugins: PluginInfo[];
  files: number;
  bytes: number;
  /** Objects this run added to the store (0 when nothing changed). */
  newObjects: number;
  newBytes: number;
  /** sha256 of manifest.json and archive.jha.gz as written: verify detects any later change. */
  manifestSha256: string;
  archiveSha256: string;
  /** sha256 of the master.key kept in `master-key/`, or null when the home had none. */
  masterKeySha256: string | null;
  host: string;
  include: readonly string[];
  exclude: readonly string[];
}

export interface VerificationRecord {
  ok: boolean;
  id: string;
  verifiedAt: string;
  files: number;
  bytes: number;
  durationMs: number;
  problems: string[];
}

export function readJson<T>(file: string, what: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new BackupError(`cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new BackupError(`${what} ${file} is not valid JSON (${(err as Error).message}) — the backup is damaged; use another backup id`, { cause: err });
  }
}

/** The `(size, mtime, inode) -> sha256` of the previous snapshot: unchanged files are not re-read. */
export class HashCache {
  private readonly byPath = new Map<string, ManifestEntry>();

  constructor(previous?: Manifest) {
    for (const e of previous?.entries ?? []) this.byPath.set(e.path, e);
  }

  static fromSnapshot(dir: string | undefined): HashCache {
    if (!dir) return new HashCache();
    try {
      return new HashCache(JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as Manifest);
    } catch {
      // A missing or damaged previous manifest only costs a full re-hash.
      return new HashCache();
    }
  }

  /** The known entry when size, mtime (ns) and inode are all unchanged. */
  lookup(file: SelectedFile): ManifestEntry | undefined {
    const e = this.byPath.get(file.rel);
    if (!e) return undefined;
    const st = file.stat;
    if (e.size !== Number(st.size) || e.mtimeNs !== st.mtimeNs.toString() || e.ino !== st.ino.toString()) return undefined;
    return e;
  }
}

export function entryFor(file: SelectedFile, sha256: string, size: number): ManifestEntry {
  return {
    path: file.rel,
    size,
    sha256,
    mode: Number(file.stat.mode) & 0o7777,
    mtimeMs: Number(file.stat.mtimeMs),
    mtimeNs: file.stat.mtimeNs.toString(),
    ino: file.stat.ino.toString(),
  };
}

/** The plugin list in plugin-installation-manager's `plugins.txt` format. */
export function pluginsTxt(plugins: PluginInfo[]): string {
  return plugins.map((p) => `${p.name}:${p.version}${p.enabled ? "" : " # disabled"}`).join("\n") + (plugins.length ? "\n" : "");
}
