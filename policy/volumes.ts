/**
 * Policy 7: the volumes that hold state nobody can rebuild — Jenkins homes and the
 * coordination database — are protected and retained on delete.
 */
import { PolicyResourceOptions, ResourceValidationPolicy } from "@pulumi/policy";
import { TYPES, configOf, schemaWithDefaults } from "./resources";

export const PROTECTED_VOLUME_DEFAULTS = {
  /** Regular expressions on the Docker volume name. */
  volumeNamePatterns: ["^jenkins-[a-z][a-z0-9-]*-(blue|green)-home$", "coordination"],
};
export type ProtectedVolumeConfig = typeof PROTECTED_VOLUME_DEFAULTS;

/**
 * CrossGuard 1.21 passes `protect` but not `retainOnDelete` to policies; the offline
 * harness passes both. `retainOnDelete` is checked wherever it is known.
 */
export type VolumeOptions = PolicyResourceOptions & { retainOnDelete?: boolean };

export function mustBeProtected(urn: string, volumeName: string, config: ProtectedVolumeConfig): boolean {
  // Volumes of the coordination database component are covered whatever they are called.
  if (urn.includes(":CoordinationDatabase$")) return true;
  return config.volumeNamePatterns.some((p) => new RegExp(p).test(volumeName));
}

export function volumeProtectionProblems(volumeName: string, opts: VolumeOptions): string[] {
  const missing: string[] = [];
  if (opts.protect !== true) missing.push("protect: true");
  if (opts.retainOnDelete === false) missing.push("retainOnDelete: true");
  if (missing.length === 0) return [];
  return [
    `volume '${volumeName}' holds state that cannot be rebuilt but lacks ${missing.join(" and ")}; ` +
      `declare it with { protect: true, retainOnDelete: true } so no update, replace or 'pulumi destroy' can delete it`,
  ];
}

export const protectedVolumesPolicy: ResourceValidationPolicy = {
  name: "protected-state-volumes",
  description: "Jenkins home volumes and the coordination DB volume are protected and retained on delete.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithDefaults(PROTECTED_VOLUME_DEFAULTS, {
    volumeNamePatterns: "Regular expressions; Docker volumes whose name matches one must be protected.",
  }),
  validateResource: (args, report) => {
    if (args.type !== TYPES.volume) return;
    const volumeName = typeof args.props.name === "string" ? args.props.name : args.name;
    if (!mustBeProtected(args.urn, volumeName, configOf(PROTECTED_VOLUME_DEFAULTS, args.getConfig()))) return;
    for (const p of volumeProtectionProblems(volumeName, args.opts as VolumeOptions)) report(p);
  },
};
