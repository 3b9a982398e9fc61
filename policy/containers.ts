/**
 * Policies 4, 5 and 6: what every container may and may not be given.
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import {
  ContainerProps,
  LABEL,
  TYPES,
  configOf,
  containerLabel,
  envPairs,
  isJenkinsController,
  labelOf,
  schemaWithDefaults,
} from "./resources";

// ---- 4: health check and restart policy on every Jenkins controller

const RESTART_POLICIES = new Set(["always", "unless-stopped", "on-failure"]);

export function healthAndRestartProblems(name: string, props: ContainerProps): string[] {
  const problems: string[] = [];
  const tests = props.healthcheck?.tests ?? [];
  if (tests.length === 0 || tests[0] === "NONE") {
    problems.push(
      `Jenkins container '${name}' has no health check; give it one that fetches /login (HAProxy, the switch and the healer all rely on Docker's health status)`,
    );
  }
  if (!RESTART_POLICIES.has(props.restart ?? "no")) {
    problems.push(`Jenkins container '${name}' has restart policy '${props.restart ?? "no"}'; set restart: "unless-stopped" so a crashed controller comes back by itself`);
  }
  return problems;
}

export const healthAndRestartPolicy: ResourceValidationPolicy = {
  name: "jenkins-health-and-restart",
  description: "Every Jenkins container has a health check and a restart policy other than 'no'.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== TYPES.container) return;
    const props = args.props as ContainerProps;
    if (!isJenkinsController(args.urn, props)) return;
    for (const p of healthAndRestartProblems(containerLabel(args.name, props), props)) report(p);
  },
};

// ---- 5: no privileged container, no Docker socket mount (except the allowed roles)

export const PRIVILEGE_DEFAULTS = {
  /** `jenkins-ha.role` label values that may run privileged / mount the Docker socket. */
  allowedRoles: ["dind-agent", "healer"],
};
export type PrivilegeConfig = typeof PRIVILEGE_DEFAULTS;

/** The Docker socket, and the host directories that contain it. */
const SOCKET_PATHS = ["/var/run/docker.sock", "/run/docker.sock"];
const SOCKET_DIRECTORIES = ["/var/run", "/run"];
/** Mounting these writable hands out the socket too (and much more). */
const HOST_ROOTS = ["/", "/var"];
const PRIVILEGED_CAPABILITIES = new Set(["ALL", "SYS_ADMIN", "CAP_SYS_ADMIN"]);

function normalisePath(p: string): string {
  const trimmed = p.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

interface HostMount {
  source: string;
  target: string;
  readOnly: boolean;
}

function hostMounts(props: ContainerProps): HostMount[] {
  const fromVolumes = (props.volumes ?? [])
    .filter((v) => v.hostPath !== undefined)
    .map((v) => ({ source: normalisePath(v.hostPath!), target: v.containerPath ?? "?", readOnly: v.readOnly === true }));
  const fromMounts = (props.mounts ?? [])
    .filter((m) => (m.type ?? "bind") === "bind" && m.source !== undefined)
    .map((m) => ({ source: normalisePath(m.source!), target: m.target ?? "?", readOnly: m.readOnly === true }));
  return [...fromVolumes, ...fromMounts];
}

export function privilegeProblems(urn: string, name: string, props: ContainerProps, config: PrivilegeConfig): string[] {
  const jenkins = isJenkinsController(urn, props);
  const role = labelOf(props, LABEL.role);
  // A controller is never exempt, whatever role label a change gives it.
  if (!jenkins && role !== undefined && config.allowedRoles.includes(role)) return [];
  const problems: string[] = [];
  const fix = `only the roles ${config.allowedRoles.join(", ")} may (policy config allowedRoles)`;
  if (props.privileged === true) {
    problems.push(`container '${name}' runs privileged; remove privileged: true — ${fix}`);
  }
  const caps = (props.capabilities?.adds ?? []).filter((c) => PRIVILEGED_CAPABILITIES.has(c.toUpperCase()));
  if (caps.length > 0) {
    problems.push(`container '${name}' adds capabilities ${caps.join(", ")}, as good as privileged; drop them — ${fix}`);
  }
  for (const m of hostMounts(props)) {
    if (SOCKET_PATHS.includes(m.source) || SOCKET_DIRECTORIES.includes(m.source)) {
      problems.push(`container '${name}' mounts the Docker socket (${m.source} -> ${m.target}), which is root on the host; remove the mount — ${fix}`);
    } else if (HOST_ROOTS.includes(m.source) && !m.readOnly) {
      problems.push(`container '${name}' mounts ${m.source} writable (-> ${m.target}), which includes the Docker socket; mount only what it needs, read-only — ${fix}`);
    } else if (jenkins) {
      // Controllers get their home volume and nothing of the host: agents run through the
      // engine's TLS port, secrets arrive as uploaded files.
      problems.push(`Jenkins container '${name}' mounts host path ${m.source} -> ${m.target}; a controller mounts only its home volume — remove the mount`);
    }
  }
  return problems;
}

export const noPrivilegedNoSocketPolicy: ResourceValidationPolicy = {
  name: "no-privileged-no-docker-socket",
  description: "No privileged container and no Docker socket mount, except the dind agent template and the healer.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithDefaults(PRIVILEGE_DEFAULTS, {
    allowedRoles: "Values of the jenkins-ha.role label whose containers may run privileged or mount the Docker socket.",
  }),
  validateResource: (args, report) => {
    if (args.type !== TYPES.container) return;
    const props = args.props as ContainerProps;
    const config = configOf(PRIVILEGE_DEFAULTS, args.getConfig());
    for (const p of privilegeProblems(args.urn, containerLabel(args.name, props), props, config)) report(p);
  },
};

// ---- 6: no secret in a plain env var or label

/** A name part that says "this is a credential". Split on `_`, `.`, `-` so MONKEY is not a KEY. */
const SECRET_WORD = /(^|[_.-])(PASSWORD|PASSWD|PASSPHRASE|TOKEN|SECRET|KEY|APIKEY|CREDENTIALS?)([_.-]|$)/i;
/** Indirections: the value names a file or path that holds the secret (`GF_..._PASSWORD__FILE`). */
const INDIRECTION = /(_FILE|_PATH|_DIR)$/i;

export function looksLikeSecretName(name: string): boolean {
  return SECRET_WORD.test(name) && !INDIRECTION.test(name);
}

export function plaintextSecretProblems(name: string, props: ContainerProps): string[] {
  const problems: string[] = [];
  for (const [key, value] of envPairs(props.envs)) {
    if (value !== "" && looksLikeSecretName(key)) {
      problems.push(
        `container '${name}' sets ${key} in a plain env var (visible in 'docker inspect' and the Pulumi state); ` +
          `deliver it as a file from a Pulumi secret (container uploads) and point ${key}_FILE (or the app's *_FILE setting) at it`,
      );
    }
  }
  for (const l of props.labels ?? []) {
    if (l.value !== "" && looksLikeSecretName(l.label)) {
      problems.push(`container '${name}' has label ${l.label} holding a value that looks like a credential; labels are public metadata — remove it and deliver the secret as an uploaded file`);
    }
  }
  return problems;
}

export const noPlaintextSecretsPolicy: ResourceValidationPolicy = {
  name: "no-plaintext-secrets",
  description: "No secret in a plain env var or label: names like *PASSWORD*, *TOKEN*, *SECRET*, *KEY* must come from secret files.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== TYPES.container) return;
    const props = args.props as ContainerProps;
    for (const p of plaintextSecretProblems(containerLabel(args.name, props), props)) report(p);
  },
};
