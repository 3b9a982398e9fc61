/**
 * What the policies know about the resources jenkins-ha declares: type tokens, and how to
 * read the few Docker inputs they check. Self-contained on purpose: `pulumi preview
 * --policy-pack policy` loads this package on its own, so it imports nothing from the
 * program (a bad program change must not be able to change what the gate checks).
 */
import { PolicyConfigSchema } from "@pulumi/policy";

export const TYPES = {
  container: "docker:index/container:Container",
  volume: "docker:index/volume:Volume",
  image: "docker:index/image:Image",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  localCommand: "command:local:Command",
  remoteCommand: "command:remote:Command",
  jenkinsTeam: "jenkins-ha:jenkins:JenkinsTeam",
  loadBalancer: "jenkins-ha:loadbalancer:LoadBalancer",
} as const;

export const COLOURS = ["blue", "green"] as const;
export type Colour = (typeof COLOURS)[number];
export const GREEN_PORT_OFFSET = 100;

/** The Docker container inputs the policies read (names as in @pulumi/docker's ContainerArgs). */
export interface ContainerProps {
  name?: string;
  image?: string;
  envs?: string[];
  labels?: Array<{ label: string; value: string }>;
  ports?: Array<{ internal: number; external?: number; ip?: string; protocol?: string }>;
  volumes?: Array<{ hostPath?: string; containerPath?: string; volumeName?: string; readOnly?: boolean }>;
  mounts?: Array<{ type?: string; source?: string; target?: string; readOnly?: boolean }>;
  privileged?: boolean;
  capabilities?: { adds?: string[]; drops?: string[] };
  healthcheck?: { tests?: string[] };
  restart?: string;
  networkMode?: string;
  command?: string[];
}

/** Label value of a container, or undefined. */
export function labelOf(props: ContainerProps, key: string): string | undefined {
  return props.labels?.find((l) => l.label === key)?.value;
}

export const LABEL = {
  team: "jenkins-ha.team",
  environment: "jenkins-ha.environment",
  role: "jenkins-ha.role",
} as const;

/**
 * A Jenkins controller: a container declared inside a JenkinsTeam component (the URN's type
 * chain says so even if a change drops the labels), or one carrying the team + colour labels.
 */
export function isJenkinsController(urn: string, props: ContainerProps): boolean {
  return urn.includes(`${TYPES.jenkinsTeam}$`) || (labelOf(props, LABEL.team) !== undefined && labelOf(props, LABEL.environment) !== undefined);
}

/** `jenkins-<team>-<colour>` for messages. */
export function containerLabel(name: string, props: ContainerProps): string {
  return props.name ?? name;
}

/** `NAME=value` env entries as pairs (a value may itself contain `=`). */
export function envPairs(envs: string[] | undefined): Array<[string, string]> {
  return (envs ?? []).map((e) => {
    const at = e.indexOf("=");
    return at < 0 ? [e, ""] : [e.slice(0, at), e.slice(at + 1)];
  });
}

export const ALL_INTERFACES = new Set(["", "0.0.0.0", "*", "::", "[::]"]);
export function isLoopback(address: string): boolean {
  return address === "localhost" || address === "::1" || address === "[::1]" || /^127\./.test(address);
}

/** `host:port` (or `[v6]:port`, or `:port`) -> parts. */
export function splitHostPort(listen: string): { host: string; port: number } | undefined {
  const m = /^(.*):(\d+)$/.exec(listen.trim());
  if (!m) return undefined;
  return { host: m[1], port: Number(m[2]) };
}

/**
 * A policy's configuration: the defaults in its `configSchema`, overridden by what the
 * engine passes. The real engine fills schema defaults itself; applying them here too keeps
 * a policy correct when it is given no config at all.
 */
export function configOf<T extends object>(defaults: T, given: object): T {
  return { ...defaults, ...(given as Partial<T>) };
}

/** A `configSchema` whose `default`s are the given values, so the two never drift. */
export function schemaWithDefaults(
  defaults: Record<string, number | string | boolean | string[]>,
  descriptions: Record<string, string>,
): PolicyConfigSchema {
  const properties: PolicyConfigSchema["properties"] = {};
  for (const [key, value] of Object.entries(defaults)) {
    const description = descriptions[key];
    if (Array.isArray(value)) properties[key] = { type: "array", items: { type: "string" }, default: value, description };
    else if (typeof value === "number") properties[key] = { type: Number.isInteger(value) ? "integer" : "number", minimum: 0, default: value, description };
    else if (typeof value === "boolean") properties[key] = { type: "boolean", default: value, description };
    else properties[key] = { type: "string", default: value, description };
  }
  return { properties };
}
