import { Colour, COLOURS, HaproxyConfig } from "../config/schema";
import { PlatformModel, TeamModel } from "../config/model";

/**
 * Paths inside the HAProxy container. The host's `platform.haproxy.runtimeDir` is mounted
 * at HAPROXY_RUNTIME_DIR, so the admin socket and server-state file are reachable from the
 * host (the switch orchestrator and the reload script use them) but never published.
 */
export const HAPROXY_RUNTIME_DIR = "/var/lib/haproxy/run";
export const ADMIN_SOCKET_NAME = "admin.sock";
export const SERVER_STATE_NAME = "server-state";
export const CONFIG_NAME = "haproxy.cfg";

/**
 * Configured (initial) weights. HAProxy restores a server's runtime weight from the
 * server-state file only while its configured weight is unchanged, so each phase uses a
 * distinct configured weight: a reload within a phase keeps runtime weights (a shift in
 * progress survives), and a reload that changes phase starts from the new config.
 */
export const WEIGHT = {
  /** The active colour in steady state, and the source of a switch in progress. */
  active: 100,
  /** The standby colour in steady state: a `backup` server that takes over if the active dies. */
  backup: 1,
  /** The target of a switch while traffic is shifted by the runtime API (starts with none). */
  shiftTarget: 0,
} as const;

export interface HaproxyRenderOptions {
  /** Crypt(3) hash for the stats user (e.g. bcrypt from @pulumi/random); never a plain password. */
  statsPasswordHash: string;
  /** Directory the admin socket and state file live in (inside the HAProxy process's view). */
  runtimeDir?: string;
}

export interface ServerLine {
  colour: Colour;
  address: string;
  port: number;
  weight: number;
  backup: boolean;
}

/**
 * How each colour is declared in a team's backend. A team whose config says a switch is
 * being staged (`switchRecord.to` is the standby and the standby is running) gets both
 * colours as normal servers so the runtime API can shift weight between them.
 */
export function serverLines(team: TeamModel): ServerLine[] {
  const shifting =
    team.config.switchRecord !== undefined &&
    team.config.switchRecord.to === team.standbyEnvironment &&
    team.colours[team.standbyEnvironment].running;
  return COLOURS.map((colour) => {
    const c = team.colours[colour];
    const isActive = c.role === "active";
    return {
      colour,
      address: team.host.address,
      port: c.webPort,
      weight: isActive ? WEIGHT.active : shifting ? WEIGHT.shiftTarget : WEIGHT.backup,
      backup: !isActive && !shifting,
    };
  });
}

function isLoopback(address: string): boolean {
  return address === "127.0.0.1" || address === "::1" || address === "localhost";
}

function globalSection(h: HaproxyConfig, runtimeDir: string): string[] {
  return [
    "global",
    "    # master-worker + expose-fd listeners: a reload (SIGUSR2 to the master) hands the",
    "    # listening sockets to the new worker, so no connection is refused during a reload.",
    "    master-worker",
    `    maxconn ${h.maxconn}`,
    "    log stdout format raw local0 info",
    `    stats socket ${runtimeDir}/${ADMIN_SOCKET_NAME} mode 660 level admin expose-fd listeners`,
    "    stats timeout 30s",
    `    server-state-file ${runtimeDir}/${SERVER_STATE_NAME}`,
    "",
  ];
}

function defaultsSection(h: HaproxyConfig): string[] {
  return [
    "defaults",
    "    mode http",
    "    log global",
    "    option httplog",
    "    option dontlognull",
    "    option redispatch",
    "    option forwardfor",
    "    retries 3",
    "    timeout connect 5s",
    "    timeout client 60s",
    "    timeout server 60s",
    "    timeout http-request 10s",
    "    timeout check 5s",
    "    # Jenkins keeps long-lived connections (WebSocket agents, CLI)",
    "    timeout tunnel 1h",
    "    # runtime weights and states survive a reload (see WEIGHT in render/haproxy.ts)",
    "    load-server-state-from-file global",
    "    # a host name that does not resolve at start-up must not keep HAProxy (and every",
    "    # other team) down: start with the server disabled and resolve it later",
    `    default-server inter ${h.checkIntervalSeconds}s fall 3 rise 2 init-addr last,libc,none`,
    "",
  ];
}

function statsSection(h: HaproxyConfig, statsPasswordHash: string): string[] {
  const lines = [
    "userlist stats_users",
    `    user admin password ${statsPasswordHash}`,
    "",
    "frontend stats",
    `    bind ${h.statsBindAddress}:${h.statsPort}`,
    "    mode http",
    "    option dontlog-normal",
  ];
  // The exporter is open only on loopback (Prometheus on the same host); anywhere else
  // it needs the same auth as the stats page.
  if (!isLoopback(h.statsBindAddress)) {
    lines.push("    http-request auth realm haproxy-stats unless { http_auth(stats_users) }");
  }
  lines.push(
    "    http-request use-service prometheus-exporter if { path /metrics }",
    "    acl stats_authed http_auth(stats_users)",
    "    http-request auth realm haproxy-stats if { path_beg /stats } !stats_authed",
    "    stats enable",
    "    stats uri /stats",
    "    stats refresh 10s",
    "    stats show-legends",
    "",
  );
  return lines;
}

function teamSections(team: TeamModel, bindAddress: string): string[] {
  const servers = serverLines(team).map(
    (s) => `    server ${s.colour} ${s.address}:${s.port} check weight ${s.weight}${s.backup ? " backup" : ""}`,
  );
  return [
    `frontend ${team.backendName}_front`,
    `    bind ${bindAddress}:${team.publicPort}`,
    `    default_backend ${team.backendName}`,
    "",
    `backend ${team.backendName}`,
    `    # team ${team.name}: active ${team.activeEnvironment}, standby ${team.standbyEnvironment}`,
    "    balance roundrobin",
    "    option httpchk GET /login",
    "    http-check expect status 200",
    "    http-request set-header X-Forwarded-Proto http",
    `    http-response set-header X-Jenkins-Team ${team.name}`,
    "    http-response set-header X-Jenkins-Environment %[srv_name]",
    ...servers,
    "",
  ];
}

/** The whole haproxy.cfg for a platform: pure, deterministic, validated by `haproxy -c`. */
export function renderHaproxyConfig(model: PlatformModel, options: HaproxyRenderOptions): string {
  const h = model.config.platform.haproxy;
  const runtimeDir = options.runtimeDir ?? HAPROXY_RUNTIME_DIR;
  const lines = [
    `# Generated by jenkins-ha for stack '${model.stack}'. Do not edit: change the stack config.`,
    ...globalSection(h, runtimeDir),
    ...defaultsSection(h),
    ...statsSection(h, options.statsPasswordHash),
    ...model.teams.flatMap((team) => teamSections(team, h.bindAddress)),
  ];
  return `${lines.join("\n").trimEnd()}\n`;
}
