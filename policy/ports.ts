/**
 * Policy 8: no two containers on a host listen on the same port, and every team's green
 * ports are its blue ports + 100.
 *
 * A host is a Docker provider (one per host). Listeners are the published `ports`, and for
 * host-network containers what they bind themselves: `--web.listen-address` /
 * `--server.http.listen-addr` flags, Grafana's GF_SERVER_HTTP_ADDR/PORT, and HAProxy's
 * `bind` lines (read from the config its install command carries).
 */
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { haproxyBinds, isHaproxyConfigCommand } from "./haproxy-config";
import {
  ALL_INTERFACES,
  ContainerProps,
  GREEN_PORT_OFFSET,
  LABEL,
  TYPES,
  containerLabel,
  envPairs,
  isJenkinsController,
  labelOf,
  splitHostPort,
} from "./resources";

export interface Listener {
  /** Provider URN (the Docker host); "" for the default provider. */
  host: string;
  address: string;
  port: number;
  protocol: string;
  owner: string;
  urn: string;
}

const LISTEN_FLAGS = ["--web.listen-address=", "--server.http.listen-addr="];

/** Addresses a host-network container binds by itself (flags, Grafana env). */
export function selfBoundListeners(props: ContainerProps): Array<{ address: string; port: number }> {
  const out: Array<{ address: string; port: number }> = [];
  for (const arg of props.command ?? []) {
    const flag = LISTEN_FLAGS.find((f) => arg.startsWith(f));
    const hp = flag ? splitHostPort(arg.slice(flag.length)) : undefined;
    if (hp) out.push({ address: hp.host, port: hp.port });
  }
  const env = new Map(envPairs(props.envs));
  if (env.has("GF_SERVER_HTTP_PORT") || env.has("GF_SERVER_HTTP_ADDR")) {
    out.push({ address: env.get("GF_SERVER_HTTP_ADDR") ?? "", port: Number(env.get("GF_SERVER_HTTP_PORT") ?? 3000) });
  }
  return out;
}

function providerUrn(r: PolicyResource): string {
  return r.provider?.urn ?? "";
}

/** Every listener of the stack, by host. */
export function listenersOf(resources: PolicyResource[]): Listener[] {
  const listeners: Listener[] = [];
  for (const r of resources) {
    if (r.type !== TYPES.container) continue;
    const props = r.props as ContainerProps;
    const owner = containerLabel(r.name, props);
    for (const p of props.ports ?? []) {
      // No external port: Docker picks a free one, nothing to collide.
      if (p.external === undefined) continue;
      listeners.push({ host: providerUrn(r), address: p.ip ?? "0.0.0.0", port: p.external, protocol: p.protocol ?? "tcp", owner, urn: r.urn });
    }
    if (props.networkMode === "host") {
      for (const l of selfBoundListeners(props)) listeners.push({ host: providerUrn(r), ...l, protocol: "tcp", owner, urn: r.urn });
    }
  }
  // HAProxy (host network) binds what its config says, on the host of its container.
  for (const cmd of resources.filter((r) => isHaproxyConfigCommand(r.type, r.urn))) {
    const text = cmd.props.stdin;
    if (typeof text !== "string") continue;
    const container = resources.find(
      (r) => r.type === TYPES.container && r.parent?.urn === cmd.parent?.urn && (r.props as ContainerProps).networkMode === "host",
    );
    if (!container) continue;
    const owner = containerLabel(container.name, container.props as ContainerProps);
    for (const b of haproxyBinds(text)) {
      listeners.push({ host: providerUrn(container), address: b.host, port: b.port, protocol: "tcp", owner: `${owner} (${b.section})`, urn: cmd.urn });
    }
  }
  return listeners;
}

function overlaps(a: string, b: string): boolean {
  return a === b || ALL_INTERFACES.has(a) || ALL_INTERFACES.has(b);
}

function hostName(providerUrnValue: string): string {
  return providerUrnValue === "" ? "the default Docker host" : `host '${providerUrnValue.slice(providerUrnValue.lastIndexOf("::") + 2)}'`;
}

export function portCollisionProblems(listeners: Listener[]): Array<{ message: string; urn: string }> {
  const problems: Array<{ message: string; urn: string }> = [];
  const seen = new Set<string>();
  for (let i = 0; i < listeners.length; i++) {
    for (let j = i + 1; j < listeners.length; j++) {
      const a = listeners[i];
      const b = listeners[j];
      if (a.host !== b.host || a.port !== b.port || a.protocol !== b.protocol || a.owner === b.owner) continue;
      if (!overlaps(a.address, b.address)) continue;
      const key = [a.host, a.port, a.protocol, ...[a.owner, b.owner].sort()].join("|");
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push({
        urn: b.urn,
        message: `port ${a.port}/${a.protocol} on ${hostName(a.host)} is used by both ${a.owner} (${a.address || "*"}) and ${b.owner} (${b.address || "*"}); give one of them another port in the stack config (teams.<t>.webPort / agentPort / publicPort, monitoring.ports, platform.haproxy.statsPort)`,
      });
    }
  }
  return problems;
}

/** Green = blue + 100 for every internal port of every team. */
export function greenOffsetProblems(resources: PolicyResource[]): Array<{ message: string; urn: string }> {
  const byTeam = new Map<string, Partial<Record<string, { urn: string; ports: Map<number, number> }>>>();
  for (const r of resources) {
    if (r.type !== TYPES.container) continue;
    const props = r.props as ContainerProps;
    if (!isJenkinsController(r.urn, props)) continue;
    const team = labelOf(props, LABEL.team);
    const colour = labelOf(props, LABEL.environment);
    if (!team || !colour) continue;
    const ports = new Map<number, number>();
    for (const p of props.ports ?? []) if (p.external !== undefined) ports.set(p.internal, p.external);
    byTeam.set(team, { ...byTeam.get(team), [colour]: { urn: r.urn, ports } });
  }
  const problems: Array<{ message: string; urn: string }> = [];
  for (const [team, colours] of byTeam) {
    const blue = colours.blue;
    const green = colours.green;
    if (!blue || !green) continue;
    for (const [internal, blueExternal] of blue.ports) {
      const greenExternal = green.ports.get(internal);
      if (greenExternal !== blueExternal + GREEN_PORT_OFFSET) {
        problems.push({
          urn: green.urn,
          message: `team '${team}': container port ${internal} is published on ${blueExternal} for blue but ${greenExternal ?? "nothing"} for green; green must be blue + ${GREEN_PORT_OFFSET} (${blueExternal + GREEN_PORT_OFFSET}) — HAProxy, monitoring and the switch derive it that way`,
        });
      }
    }
  }
  return problems;
}

export const portIsolationPolicy: StackValidationPolicy = {
  name: "port-isolation",
  description: "No two containers on a host listen on the same port; every team's green ports are its blue ports + 100.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const p of [...portCollisionProblems(listenersOf(args.resources)), ...greenOffsetProblems(args.resources)]) report(p.message, p.urn);
  },
};
