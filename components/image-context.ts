import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ConfigProblem, ConfigValidationError, formatProblem } from "../config/problems";

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

/** The imageDir a team gets when its config sets none: an optional overlay that may be absent. */
export function defaultImageDir(team: string): string {
  return `jenkins/${team}`;
}

/**
 * What is wrong with a team's image inputs directory, as a config problem, or undefined.
 * The default `jenkins/<team>` may be absent (the team then builds `jenkins/base` as it is);
 * a directory the config names must exist, or the team's overrides would be dropped silently.
 */
export function imageDirProblem(projectDir: string, team: string, imageDir: string): ConfigProblem | undefined {
  const resolved = path.resolve(projectDir, imageDir);
  const where = `teams.${team}.imageDir`;
  const fix =
    `create ${resolved} with the team's overrides of jenkins/base (Dockerfile, plugins.txt, seedJob.groovy), ` +
    `correct the path (relative to the project root ${projectDir}), or remove ${where} to build jenkins/base with the optional overrides in ${defaultImageDir(team)}/ ` +
    `(pulumi config rm --path ${where})`;
  if (!fs.existsSync(resolved)) {
    if (path.normalize(imageDir) === path.normalize(defaultImageDir(team))) return undefined;
    return { path: where, message: `directory '${imageDir}' does not exist (resolved to ${resolved})`, fix };
  }
  if (!fs.statSync(resolved).isDirectory()) {
    return { path: where, message: `'${imageDir}' is not a directory (resolved to ${resolved})`, fix };
  }
  return undefined;
}

/**
 * A team's imageDir is missing. A ConfigValidationError (the CLI prints it as a config
 * problem, exit 1), raised while the platform is declared: before any resource of this team,
 * but after those of teams declared earlier (in name order).
 */
export class ImageDirError extends ConfigValidationError {
  constructor(stack: string, team: string, problem: ConfigProblem) {
    super(stack, [problem]);
    this.name = "ImageDirError";
    this.message = `stack config '${stack}' has a problem; stopped before declaring team '${team}':\n  - ${formatProblem(problem)}`;
  }
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
  // Refuse, naming the config key, before anything of this team is declared.
  const problem = imageDirProblem(options.projectDir, options.team, options.imageDir);
  if (problem) throw new ImageDirError(options.stack, options.team, problem);
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
