import * as os from "os";
import * as path from "path";
import { PlatformModel } from "../../config/model";
import { DEFAULT_TEAM_HEALING } from "../../config/sections/healing";
import { ADMIN_SOCKET_NAME } from "../../render/haproxy";
import { budgetLimitsFrom } from "../coordination/budget";
import { Database } from "../coordination/db";
import { CoordinationUnavailable } from "../coordination/errors";
import { PgCoordination } from "../coordination/store";
import { HaproxyRuntime } from "../traffic/haproxy-runtime";
import { AlertInbox } from "./alert-inbox";
import { HealerHttpServer } from "./alert-webhook";
import { ContainerControl, DockerContainers, dockerFor, dockerHealerPorts } from "./docker-ports";
import { escalationTarget } from "./escalation";
import { Healer, HealerCoordination, WatchedTeam } from "./healer";
import { HealLog } from "./logger";
import { HealLoop } from "./loop";
import { renderHealerMetrics } from "./metrics";
import { modelPlacement } from "./placement";
import { SwitchRequester } from "./switch-requester";

/**
 * Coordination when no database is configured or reachable at start: every call fails, so
 * the healer stays in monitor mode (it never acts without a lock) and says so.
 */
export class NoCoordination implements HealerCoordination {
  constructor(private readonly why: string) {}
  private fail(): never {
    throw new CoordinationUnavailable(this.why);
  }
  async ping(): Promise<void> {
    this.fail();
  }
  async isPaused(): Promise<{ paused: boolean; needsHuman: boolean }> {
    this.fail();
  }
  async markNeedsHuman(): Promise<void> {
    this.fail();
  }
  async actExclusively(): Promise<boolean> {
    this.fail();
  }
  async auditHeal(): Promise<void> {
    this.fail();
  }
  async recordHealth(): Promise<void> {
    this.fail();
  }
}

/** This healer process in the audit and lease holders: `healer:<host>-<pid>`. */
export function defaultHealerId(): string {
  return `${os.hostname()}-${process.pid}`;
}

/** Each team with its healing policy (`teams.<team>.healing`, seed defaults otherwise). */
export function watchedTeams(model: PlatformModel): WatchedTeam[] {
  return model.teams.map((t) => ({ name: t.name, policy: { ...DEFAULT_TEAM_HEALING, ...(t.config.healing ?? {}) } }));
}

export interface HealServiceOptions {
  model: PlatformModel;
  /** The coordination DB; undefined = none configured (monitor mode). */
  db?: Database;
  /** Why there is no DB, for logs and the NoCoordination errors. */
  noDbReason?: string;
  switcher: SwitchRequester;
  log: HealLog;
  listen?: { host: string; port: number };
  intervalMs?: number;
  haproxySocket?: string;
  probeTimeoutMs?: number;
  stopTimeoutSeconds?: number;
  healerId?: string;
  /** Whether the config's activeEnvironment of a team can be trusted (not in the Healer container's copy). */
  configKnowsActive?: (team: string) => boolean;
  /** false: do not start the loop (`heal run --once` calls `healer.round()` itself). */
  autoStart?: boolean;
  /** Container state and restarts per team; default the Docker engine of the team's host. */
  containers?: (team: string) => ContainerControl;
}

export interface HealService {
  healer: Healer;
  loop: HealLoop;
  port?: number;
  inbox: AlertInbox;
  metrics(): string;
  stop(): Promise<void>;
}

/** Wires the healer on a platform model: Docker per host, HAProxy, webhook, metrics. */
export async function startHealService(o: HealServiceOptions): Promise<HealService> {
  const { model } = o;
  const healerId = o.healerId ?? defaultHealerId();
  const coordination: HealerCoordination = o.db ? new PgCoordination(o.db, budgetLimitsFrom(model.config.switch)) : new NoCoordination(o.noDbReason ?? "no database configured");
  const inbox = new AlertInbox();
  const containersByHost = new Map<string, DockerContainers>();
  const containers = o.containers ?? ((team: string) => {
    const host = model.teams.find((t) => t.name === team)?.host ?? model.haproxyHost;
    let c = containersByHost.get(host.name);
    if (!c) containersByHost.set(host.name, (c = new DockerContainers(dockerFor(host.dockerHost), o.stopTimeoutSeconds)));
    return c;
  });
  const escalationUrl = model.config.healing.escalationWebhookUrl;
  const haproxy = new HaproxyRuntime(o.haproxySocket ?? path.join(model.config.platform.haproxy.runtimeDir, ADMIN_SOCKET_NAME), 2000);
  const ports = dockerHealerPorts({
    placement: modelPlacement(model, { haproxy, db: o.db, configKnows: o.configKnowsActive }),
    containers,
    haproxy,
    inbox,
    probeTimeoutMs: o.probeTimeoutMs ?? 10_000,
    log: o.log,
    coordination,
    switcher: o.switcher,
    escalation: escalationUrl ? escalationTarget(escalationUrl) : undefined,
    healerId,
  });
  const teams = watchedTeams(model);
  const healer = new Healer(teams, ports, healerId);
  if (!o.db) {
    healer.coordinationUp = false;
    o.log({ level: "error", msg: "coordination database unavailable: monitor mode for every team (no action without a lock)", reason: o.noDbReason });
  }
  const loop = new HealLoop(healer, o.intervalMs);
  const metrics = () =>
    renderHealerMetrics({ teams: teams.map((t) => t.name), counters: healer.counters, status: healer.status, coordinationUp: healer.coordinationUp, alertsReceived: inbox.received });
  const server = new HealerHttpServer({ inbox, metrics, alive: () => loop.alive, log: o.log });
  const port = o.listen ? await server.listen(o.listen.port, o.listen.host) : undefined;
  o.log({
    level: "info",
    msg: "healer started",
    healer: healerId,
    port,
    teams: teams.map((t) => `${t.name}:${t.policy.mode}`),
    escalation: escalationUrl ? "webhook" : "none configured",
  });
  if (o.autoStart !== false) void loop.start();
  return {
    healer,
    loop,
    port,
    inbox,
    metrics,
    async stop() {
      await loop.stop();
      await server.close();
      o.log({ level: "info", msg: "healer stopped", healer: healerId });
    },
  };
}
