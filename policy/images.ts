/**
 * Policy 3 (one image per team) and the advisory image policies (pinned plugins, no
 * `latest` tags).
 */
import * as fs from "fs";
import * as path from "path";
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { ContainerProps, LABEL, TYPES, containerLabel, isJenkinsController, labelOf } from "./resources";

// ---- 3: both colours of a team run the same image

interface TeamContainer {
  urn: string;
  name: string;
  colour: string;
  image: unknown;
}

/** The team a Jenkins container belongs to: its label, else its `jenkins-<team>-<colour>` name. */
function teamOf(name: string, props: ContainerProps): { team: string; colour: string } | undefined {
  const team = labelOf(props, LABEL.team);
  const colour = labelOf(props, LABEL.environment);
  if (team && colour) return { team, colour };
  const m = /^jenkins-(.+)-(blue|green)$/.exec(props.name ?? name);
  return m ? { team: m[1], colour: m[2] } : undefined;
}

export function imageMismatchProblems(containers: Array<{ urn: string; name: string; props: ContainerProps }>): Array<{ message: string; urn: string }> {
  const byTeam = new Map<string, TeamContainer[]>();
  for (const c of containers) {
    if (!isJenkinsController(c.urn, c.props)) continue;
    const owner = teamOf(c.name, c.props);
    if (!owner) continue;
    const list = byTeam.get(owner.team) ?? [];
    list.push({ urn: c.urn, name: containerLabel(c.name, c.props), colour: owner.colour, image: c.props.image });
    byTeam.set(owner.team, list);
  }
  const problems: Array<{ message: string; urn: string }> = [];
  for (const [team, list] of [...byTeam].sort(([a], [b]) => a.localeCompare(b))) {
    const images = new Set(list.map((c) => JSON.stringify(c.image ?? null)));
    if (images.size <= 1) continue;
    const described = list.map((c) => `${c.colour} '${c.name}' runs ${JSON.stringify(c.image ?? null)}`).join(", ");
    problems.push({
      urn: list[list.length - 1].urn,
      message: `team '${team}' runs different images per colour (${described}); both colours must use the team's one image (jenkins-${team}-image) so a switch changes only the colour, never the code`,
    });
  }
  return problems;
}

export const oneImagePerTeamPolicy: StackValidationPolicy = {
  name: "one-image-per-team",
  description: "Both colours of a team use the same image reference.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const containers = args.resources
      .filter((r: PolicyResource) => r.type === TYPES.container)
      .map((r) => ({ urn: r.urn, name: r.name, props: r.props as ContainerProps }));
    for (const p of imageMismatchProblems(containers)) report(p.message, p.urn);
  },
};

// ---- advisory: image tags are not `latest`

/** An image reference without a tag or digest, or tagged `latest`. */
export function isFloatingImage(ref: string): boolean {
  if (ref.includes("@sha256:")) return false;
  const lastSegment = ref.slice(ref.lastIndexOf("/") + 1);
  const colon = lastSegment.lastIndexOf(":");
  if (colon < 0) return true;
  return lastSegment.slice(colon + 1) === "latest";
}

export const imageTagsPinnedPolicy: ResourceValidationPolicy = {
  name: "image-tags-pinned",
  description: "Images are referenced by a version tag or digest, never `latest` or no tag.",
  enforcementLevel: "advisory",
  validateResource: (args, report) => {
    let ref: unknown;
    if (args.type === TYPES.remoteImage) ref = args.props.name;
    else if (args.type === TYPES.image) ref = args.props.imageName;
    else if (args.type === TYPES.container) ref = args.props.image;
    else return;
    // Containers usually get an image *ID* from an image resource; only names are judged.
    if (typeof ref !== "string" || ref.startsWith("sha256:")) return;
    if (isFloatingImage(ref)) {
      report(`'${args.name}' uses image '${ref}', which floats (tag 'latest' or none); pin a version tag or digest so a redeploy cannot change what runs`);
    }
  },
};

// ---- advisory: plugin versions pinned in plugins.txt

/** Lines of a plugins.txt that do not pin a version (`id:version`, not latest/experimental). */
export function unpinnedPlugins(pluginsTxt: string): string[] {
  return pluginsTxt
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line !== "")
    .filter((line) => {
      const [, version] = line.split(":");
      return version === undefined || version.trim() === "" || ["latest", "experimental"].includes(version.trim());
    });
}

export const pluginVersionsPinnedPolicy: ResourceValidationPolicy = {
  name: "plugin-versions-pinned",
  description: "Every plugin in a team image's plugins.txt pins its version.",
  enforcementLevel: "advisory",
  validateResource: (args, report) => {
    if (args.type !== TYPES.image) return;
    const context = (args.props.build as { context?: unknown } | undefined)?.context;
    // The build context is written by the program on the machine running the preview.
    if (typeof context !== "string") return;
    const file = path.join(context, "plugins.txt");
    if (!fs.existsSync(file)) return;
    const unpinned = unpinnedPlugins(fs.readFileSync(file, "utf8"));
    if (unpinned.length > 0) {
      report(`image '${args.name}' installs plugins without a pinned version (${unpinned.join(", ")}); write them as <id>:<version> in the team's plugins.txt`);
    }
  },
};
