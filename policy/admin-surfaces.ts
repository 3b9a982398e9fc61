/**
 * Policy 9: admin surfaces — HAProxy's admin socket and stats/exporter page, Prometheus,
 * Alertmanager and Grafana — are not reachable on every interface without auth.
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { haproxySections, isHaproxyConfigCommand } from "./haproxy-config";
import { ALL_INTERFACES, ContainerProps, LABEL, TYPES, containerLabel, envPairs, isLoopback, labelOf, splitHostPort } from "./resources";

function isPublic(address: string): boolean {
  return !isLoopback(address.replace(/^\[|\]$/g, ""));
}

/** Problems in a rendered haproxy.cfg. */
export function haproxyAdminProblems(text: string): string[] {
  const problems: string[] = [];
  for (const s of haproxySections(text)) {
    if (s.kind === "global") {
      for (const line of s.lines) {
        const m = /^stats\s+socket\s+(\S+)/.exec(line);
        if (!m) continue;
        const addr = m[1].replace(/^(ipv4|ipv6|tcp|tcp4|tcp6)@/, "");
        const hp = addr.startsWith("/") || addr.startsWith("unix@") ? undefined : splitHostPort(addr);
        if (hp && isPublic(hp.host)) {
          problems.push(
            `HAProxy's admin socket listens on TCP ${addr} ('${line}'); anyone who reaches it can drain or re-weight every team — keep it a unix socket under platform.haproxy.runtimeDir`,
          );
        }
      }
      continue;
    }
    if (s.kind !== "frontend" && s.kind !== "listen") continue;
    const servesStats = s.lines.some((l) => /^stats\s+(enable|uri|admin)\b/.test(l) || /prometheus-exporter/.test(l));
    if (!servesStats) continue;
    const publicBinds = s.lines
      .map((l) => /^bind\s+(\S+)/.exec(l)?.[1])
      .filter((b): b is string => b !== undefined)
      .flatMap((b) => b.split(","))
      .map((b) => splitHostPort(b.replace(/^(ipv4|ipv6)@/, "")))
      .filter((hp): hp is { host: string; port: number } => hp !== undefined && (ALL_INTERFACES.has(hp.host) || isPublic(hp.host)));
    if (publicBinds.length === 0) continue;
    // Auth that covers the whole section: an `http-request auth` with no condition, or one
    // that applies unless the client authenticated.
    const guarded = s.lines.some((l) => /^http-request\s+auth\b/.test(l) && (!/\s(if|unless)\s/.test(l) || /\sunless\s+\{\s*http_auth\(/.test(l)));
    if (!guarded) {
      const where = publicBinds.map((b) => `${b.host || "*"}:${b.port}`).join(", ");
      problems.push(
        `HAProxy '${s.header}' serves stats / metrics on ${where} without auth for every request; bind it to 127.0.0.1 (platform.haproxy.statsBindAddress) or require 'http-request auth ... unless { http_auth(<userlist>) }' for the whole section`,
      );
    }
  }
  return problems;
}

/** Problems of a Prometheus / Alertmanager / Grafana container. */
export function containerAdminProblems(name: string, props: ContainerProps): string[] {
  const problems: string[] = [];
  const command = props.command ?? [];
  const hasWebConfig = command.some((a) => a.startsWith("--web.config.file="));
  const listen = command.find((a) => a.startsWith("--web.listen-address="));
  if (listen && !hasWebConfig) {
    const hp = splitHostPort(listen.slice("--web.listen-address=".length));
    if (hp && ALL_INTERFACES.has(hp.host)) {
      problems.push(
        `container '${name}' listens on all interfaces (${listen}) without auth; Prometheus/Alertmanager have no login — set monitoring.bindAddress to 127.0.0.1 (reach it through SSH or a proxy) or add --web.config.file with basic auth / TLS`,
      );
    }
  }
  const role = labelOf(props, LABEL.role);
  if ((role === "prometheus" || role === "alertmanager") && !hasWebConfig) {
    for (const p of props.ports ?? []) {
      if (p.external !== undefined && ALL_INTERFACES.has(p.ip ?? "0.0.0.0")) {
        problems.push(`container '${name}' publishes port ${p.external} on all interfaces without auth; publish it on 127.0.0.1 or add --web.config.file with basic auth / TLS`);
      }
    }
  }
  const env = new Map(envPairs(props.envs));
  const isGrafana = role === "grafana" || [...env.keys()].some((k) => k.startsWith("GF_"));
  if (isGrafana) {
    const addr = env.get("GF_SERVER_HTTP_ADDR") ?? "";
    const open = ["GF_AUTH_ANONYMOUS_ENABLED", "GF_USERS_ALLOW_SIGN_UP", "GF_AUTH_DISABLE_LOGIN_FORM"].filter((k) => env.get(k)?.toLowerCase() === "true");
    if (ALL_INTERFACES.has(addr) && open.length > 0) {
      problems.push(
        `Grafana '${name}' listens on all interfaces with ${open.map((k) => `${k}=true`).join(", ")}, so anyone who reaches it gets in; turn those off (monitoring.grafana.allowSignUp: false) or set monitoring.bindAddress to 127.0.0.1`,
      );
    }
  }
  return problems;
}

export const adminSurfacesPolicy: ResourceValidationPolicy = {
  name: "admin-surfaces-private",
  description: "HAProxy admin socket / stats and Grafana / Prometheus / Alertmanager are not published on 0.0.0.0 without auth.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (isHaproxyConfigCommand(args.type, args.urn)) {
      if (typeof args.props.stdin === "string") for (const p of haproxyAdminProblems(args.props.stdin)) report(p);
      return;
    }
    if (args.type !== TYPES.container) return;
    const props = args.props as ContainerProps;
    for (const p of containerAdminProblems(containerLabel(args.name, props), props)) report(p);
  },
};
