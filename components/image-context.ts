import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

export interface ImageContext {
  /** Directory docker builds from. */
  dir: string;
  /** sha256 over every file name and content: the image tag, so both colours share one digest. */
  contentHash: string;
  files: Record<string, string>;
}

function readDir(dir: string): Record<string, string> {
  if (!fs.existsSync(dir)) return {};
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile()) out[entry.name] = fs.readFileSync(path.join(dir, entry.name), "utf8");
  }
  return out;
}

/** Base files, overlaid by the team's own files, plus generated ones. Pure. */
export function composeImageFiles(
  base: Record<string, string>,
  team: Record<string, string>,
  generated: Record<string, string>,
): Record<string, string> {
  return { ...base, ...team, ...generated };
}

export function hashFiles(files: Record<string, string>): string {
  const hash = crypto.createHash("sha256");
  for (const name of Object.keys(files).sort()) {
    hash.update(name).update("\0").update(files[name]).update("\0");
  }
  return hash.digest("hex");
}

/**
 * Writes a team's docker build context: `jenkins/base/` overlaid with the team's image
 * inputs directory, plus the generated `jenkins.yaml`. Written under `.jenkins-ha/build/`
 * so the source tree is never modified by `pulumi up`.
 */
export function prepareImageContext(options: {
  projectDir: string;
  stack: string;
  team: string;
  imageDir: string;
  generated: Record<string, string>;
  outDir?: string;
}): ImageContext {
  const files = composeImageFiles(
    readDir(path.join(options.projectDir, "jenkins", "base")),
    readDir(path.resolve(options.projectDir, options.imageDir)),
    options.generated,
  );
  const dir = options.outDir ?? path.join(options.projectDir, ".jenkins-ha", "build", options.stack, options.team);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, name), content);
  }
  return { dir, contentHash: hashFiles(files), files };
}
