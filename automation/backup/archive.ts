import * as zlib from "zlib";
import { ManifestEntry } from "./manifest";

/**
 * The snapshot archive, `archive.jha.gz`: a gzip stream of
 *
 *   "JHA1\n"
 *   then per file:  uint32 (big-endian) header length, header JSON {path, size, sha256, mode, mtimeMs}
 *   then the end:   uint32 length, {"end": true, "entries": N}
 *
 * The bodies are not inline: they live once in the content-addressed `objects/` (store.ts),
 * which is what makes a run with nothing changed cost a few KB instead of a copy of the
 * whole set. Restore reads the archive, then each body by its sha256. The format is ours
 * rather than tar because the `tar` package is only a transitive dependency here (not ours
 * to rely on), the system tar's flags differ between GNU and busybox (the CLI image), and
 * this needs neither: it is a list of checksummed entries, and a truncated or damaged
 * archive fails loudly (gzip CRC and length check, the end record, and the archive's
 * sha256 recorded in metadata.json).
 */

const MAGIC = Buffer.from("JHA1\n");

export type ArchiveEntry = Pick<ManifestEntry, "path" | "size" | "sha256" | "mode" | "mtimeMs">;

export function encodeArchive(entries: ManifestEntry[]): Buffer {
  const parts: Buffer[] = [MAGIC];
  const push = (header: object) => {
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(json.length);
    parts.push(len, json);
  };
  for (const e of entries) push({ path: e.path, size: e.size, sha256: e.sha256, mode: e.mode, mtimeMs: e.mtimeMs });
  push({ end: true, entries: entries.length });
  return zlib.gzipSync(Buffer.concat(parts), { level: 6 });
}

/** Decodes an archive; throws an Error saying what is wrong (truncated, damaged, not an archive). */
export function decodeArchive(data: Buffer): ArchiveEntry[] {
  let raw: Buffer;
  try {
    raw = zlib.gunzipSync(data);
  } catch (err) {
    const message = (err as Error).message;
    throw new Error(/unexpected end/i.test(message) ? `archive is truncated (${message})` : `archive is damaged: gzip says '${message}'`);
  }
  if (raw.length < MAGIC.length || !raw.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error("not a jenkins-ha archive (bad magic)");
  const entries: ArchiveEntry[] = [];
  let at = MAGIC.length;
  while (at < raw.length) {
    if (at + 4 > raw.length) throw new Error(`archive is truncated at byte ${at} (record length cut off)`);
    const len = raw.readUInt32BE(at);
    at += 4;
    if (at + len > raw.length) throw new Error(`archive is truncated at byte ${at} (record of ${len} bytes cut off)`);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(raw.subarray(at, at + len).toString("utf8")) as Record<string, unknown>;
    } catch {
      throw new Error(`archive record at byte ${at} is not readable`);
    }
    at += len;
    if (header.end === true) {
      if (header.entries !== entries.length) throw new Error(`archive end record says ${String(header.entries)} entries, found ${entries.length}`);
      if (at !== raw.length) throw new Error(`archive has ${raw.length - at} bytes after its end record`);
      return entries;
    }
    if (typeof header.path !== "string" || typeof header.sha256 !== "string" || typeof header.size !== "number" || typeof header.mode !== "number") {
      throw new Error(`archive record ${entries.length + 1} lacks path/size/sha256/mode`);
    }
    entries.push({ path: header.path, size: header.size, sha256: header.sha256, mode: header.mode, mtimeMs: typeof header.mtimeMs === "number" ? header.mtimeMs : 0 });
  }
  throw new Error(`archive is truncated: no end record after ${entries.length} entries`);
}
