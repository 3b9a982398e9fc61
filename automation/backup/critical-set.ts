import * as fs from "fs";
import * as path from "path";
import { DEFAULT_BACKUP_EXCLUDE, DEFAULT_BACKUP_INCLUDE } from "../../config/sections/backup";

/**
 * Which files of a JENKINS_HOME a backup or a sync takes. Paths are relative to the home,
 * with `/` separators. `master.key` is excluded here whatever the config says: it is kept
 * apart (store.ts, `master-key/`) so that a copy of the archive alone never decrypts the
 * secrets it holds.
 */

export type BackupMode = "critical" | "full";

export interface Selection {
  mode: BackupMode;
  include: readonly string[];
  exclude: readonly string[];
}

export const MASTER_KEY_PATH = "secrets/master.key";

/** `full` mode (the rollback path if the critical set ever proves too small): everything but workspaces. */
export const FULL_MODE_EXCLUDE = ["workspace/**", "jobs/**/workspace/**"] as const;

export function selectionFor(config: { mode: BackupMode; include?: readonly string[]; exclude?: readonly string[] }): Selection {
  if (config.mode === "full") return { mode: "full", include: ["**"], exclude: [...FULL_MODE_EXCLUDE] };
  return { mode: "critical", include: config.include ?? DEFAULT_BACKUP_INCLUDE, exclude: config.exclude ?? DEFAULT_BACKUP_EXCLUDE };
}

function escapeRegex(text: string): string {
  return text.replace(/[.+^${}()|[\]\\]/g, "\\$&");
}

/** One path segment of a glob (`*`, `?`, literals) as a regex source. */
function segmentSource(segment: string): string {
  return segment
    .split("")
    .map((ch) => (ch === "*" ? "[^/]*" : ch === "?" ? "[^/]" : escapeRegex(ch)))
    .join("");
}

/** A whole-path glob: `**` is any number of segments (including none). */
export function globToRegExp(glob: string): RegExp {
  const segments = glob.split("/");
  let source = "";
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === "**") source += last ? ".*" : "(?:[^/]+/)*";
    else source += segmentSource(segment) + (last ? "" : "/");
  });
  return new RegExp(`^${source}$`);
}

/** Could a file under directory `dir` (relative, no trailing slash) match `glob`? Lets the walk skip builds/ etc. */
export function couldMatchUnder(glob: string, dir: string): boolean {
  const g = glob.split("/");
  const d = dir.split("/");
  for (let i = 0; i < d.length; i++) {
    if (g[i] === "**") return true;
    // The pattern's last segment names the file itself: it needs a deeper pattern than `dir`.
    if (i >= g.length - 1) return false;
    if (!new RegExp(`^${segmentSource(g[i])}$`).test(d[i])) return false;
  }
  return true;
}

export class SelectionMatcher {
  private readonly include: RegExp[];
  private readonly exclude: RegExp[];

  constructor(private readonly selection: Selection) {
    this.include = selection.include.map(globToRegExp);
    this.exclude = selection.exclude.map(globToRegExp);
  }

  matchesFile(rel: string): boolean {
    if (rel === MASTER_KEY_PATH) return false;
    return this.include.some((r) => r.test(rel)) && !this.exclude.some((r) => r.test(rel));
  }

  /** Whether to descend into a directory: some include could match below it and no exclude covers all of it. */
  entersDirectory(rel: string): boolean {
    // An exclude like `jobs/**/builds/**` matches `jobs/a/builds/` + anything: prune the whole dir.
    if (this.exclude.some((r) => r.test(`${rel}/`) && r.source.endsWith(".*$"))) return false;
    return this.selection.include.some((g) => couldMatchUnder(g, rel));
  }
}

export interface SelectedFile {
  /** Relative to the home, `/`-separated. */
  rel: string;
  abs: string;
  stat: fs.BigIntStats;
}

/**
 * The selected regular files of a home, sorted by path. Symlinks and special files are not
 * followed or recorded (Jenkins' own symlinks — lastSuccessfulBuild etc. — live under
 * builds/, which is not critical; following links could leave the home).
 */
export function listSelectedFiles(home: string, selection: Selection): SelectedFile[] {
  const matcher = new SelectionMatcher(selection);
  const out: SelectedFile[] = [];
  const walk = (dirRel: string) => {
    const dirAbs = dirRel === "" ? home : path.join(home, dirRel);
    const entries = fs.readdirSync(dirAbs, { withFileTypes: true });
    for (const entry of entries) {
      const rel = dirRel === "" ? entry.name : `${dirRel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (matcher.entersDirectory(rel)) walk(rel);
      } else if (entry.isFile() && matcher.matchesFile(rel)) {
        const abs = path.join(home, rel);
        out.push({ rel, abs, stat: fs.statSync(abs, { bigint: true }) });
      }
    }
  };
  walk("");
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

export interface PluginInfo {
  name: string;
  version: string;
  enabled: boolean;
}

/**
 * The installed plugins, from `plugins/*.jpi|*.hpi` (what is installed is the archive;
 * the unpacked dir is a cache Jenkins rebuilds) with the version from the unpacked
 * `plugins/<name>/META-INF/MANIFEST.MF` `Plugin-Version`, which Jenkins writes at every
 * start. Reading the version out of the .jpi zip would need a zip reader for a value that
 * a home that has ever run already has unpacked; when it is missing the version is
 * `unknown`. A `<name>.jpi.disabled` marker means the plugin is installed but disabled.
 */
export function listPlugins(home: string): PluginInfo[] {
  const dir = path.join(home, "plugins");
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const present = new Set(names);
  const plugins: PluginInfo[] = [];
  for (const file of names) {
    const m = /^(.+)\.(jpi|hpi)$/.exec(file);
    if (!m) continue;
    const name = m[1];
    plugins.push({ name, version: manifestVersion(path.join(dir, name, "META-INF", "MANIFEST.MF")) ?? "unknown", enabled: !present.has(`${file}.disabled`) });
  }
  return plugins.sort((a, b) => a.name.localeCompare(b.name));
}

function manifestVersion(file: string): string | undefined {
  try {
    const m = /^Plugin-Version:\s*(.+?)\s*$/m.exec(fs.readFileSync(file, "utf8"));
    return m?.[1];
  } catch {
    return undefined;
  }
}

/** Jenkins version: `<version>` of config.xml, else `jenkins.install.InstallUtil.lastExecVersion`. */
export function jenkinsVersion(home: string): string | null {
  try {
    const xml = fs.readFileSync(path.join(home, "config.xml"), "utf8");
    const m = /<version>\s*([^<\s]+)\s*<\/version>/.exec(xml);
    if (m) return m[1];
  } catch {
    // fall through to the install marker
  }
  try {
    const v = fs.readFileSync(path.join(home, "jenkins.install.InstallUtil.lastExecVersion"), "utf8").trim();
    return v === "" ? null : v;
  } catch {
    return null;
  }
}
