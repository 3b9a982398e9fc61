import Docker from "dockerode";
import { Colour } from "../../config/schema";
import { TeamHealingConfig } from "../../config/sections/healing";
import { OperatorError } from "../cli/errors";
import { httpProbe } from "../health/http-probe";
import { HealthEvidence } from "../health/verdict";
import { HaproxyRuntime } from "../traffic/haproxy-runtime";
import { AlertInbox } from "./alert-inbox";
import { EscalationTarget, sendEscalation } from "./escalation";
import { HealerCoordination, HealerPorts, TeamPlacement } from "./healer";
import { SwitchRequester, switchPort } from "./switch-requester";

export class ContainerActionFailed extends OperatorError {}

/** A dockerode client for a host's Docker URL (`unix://`, `tcp://`, `ssh://user@host`). */
export function dockerFor(dockerHost: string): Docker {
  if (dockerHost.startsWith("unix://")) return new Docker({ socketPath: dockerHost.slice("unix://".length) });
  const url = new URL(dockerHost);
  if (url.protocol === "ssh:") return new Docker({ protocol: "ssh", host: url.hostname, port: Number(url.port || 22), username: url.username || undefined });
  return new Docker({ protocol: "http", host: url.hostname, port: Number(url.port || 2375) });
}

export interface ContainerState {
  state: string;
  health?: string;
  restartCount?: number;
}

/** What the healer does with a colour's container: read its state, restart it. */
export interface ContainerControl {
  state(name: string): Promise<ContainerState>;
  restart(name: string): Promise<void>;
}

/** Container state and restarts through the Docker Engine API. */
export class DockerContainers implements ContainerControl {
  constructor(
    private readonly docker: Docker,
    /** Seconds Docker waits for the container to stop before SIGKILL (Jenkins needs a while to flush). */
    private readonly stopTimeoutSeconds = 60,
  ) {}

  async state(name: string): Promise<ContainerState> {
    try {
      const info = await this.docker.getContainer(name).inspect();
      return { state: info.State.Status, health: info.State.Health?.Status, restartCount: info.RestartCount };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return { state: "missing" };
      throw err;
    }
  }

  async restart(name: string): Promise<void> {
    try {
      await this.docker.getContainer(name).restart({ t: this.stopTimeoutSeconds });
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      const why = status === 404 ? "no such container (was it removed or renamed?)" : err instanceof Error ? err.message : String(err);
      throw new ContainerActionFailed(`cannot restart container ${name}: ${why}; check 'docker ps -a --filter name=${name}' on its host`, { cause: err });
    }
  }
}

export interface EvidenceSources {
  /** Docker of the team's host. */
  containers: (team: string) => ContainerControl;
  /** HAProxy's runtime API; without it the HAProxy view is left out. */
  haproxy?: HaproxyRuntime;
  inbox?: AlertInbox;
  probeTimeoutMs: number;
  log: (event: Record<string, unknown>) => void;
}

/**
 * Evidence about the active colour from every source at once: a direct HTTP probe of
 * /login (bypassing HAProxy), the Metrics plugin healthcheck when a key is configured,
 * HAProxy's `show stat`, Docker's state and health, and firing Alertmanager alerts. A
 * source that cannot be asked (HAProxy socket, Docker API down) is left out and logged:
 * an outage of the observer is not a failure of the team.
 */
export async function gatherEvidence(src: EvidenceSources, team: string, p: TeamPlacement, policy: TeamHealingConfig): Promise<HealthEvidence> {
  const unavailable = (source: string) => (err: unknown) => {
    src.log({ level: "warn", msg: `${source} unavailable for this check; judging without it`, team, error: err instanceof Error ? err.message : String(err) });
    return undefined;
  };
  const [http, healthcheck, stat, docker] = await Promise.all([
    httpProbe(`${p.activeUrl}/login`, src.probeTimeoutMs),
    policy.metricsKey
      ? httpProbe(`${p.activeUrl}/metrics/${encodeURIComponent(policy.metricsKey)}/healthcheck`, src.probeTimeoutMs).then((r) => ({ ok: r.status === 200, status: r.status, error: r.error }))
      : Promise.resolve(undefined),
    src.haproxy ? src.haproxy.showStat().catch(unavailable("HAProxy admin socket")) : Promise.resolve(undefined),
    src.containers(team).state(p.containerName).catch(unavailable("Docker API")),
  ]);
  const row = stat?.find((r) => r.pxname === p.backend && r.svname === p.active);
  return {
    http,
    healthcheck,
    haproxy: row ? { status: row.status } : undefined,
    docker,
    alerts: src.inbox?.firing(team, p.active),
  };
}

export interface DockerHealerPortsOptions extends EvidenceSources {
  placement: (team: string) => Promise<TeamPlacement>;
  coordination: HealerCoordination;
  switcher: SwitchRequester;
  /** Where escalations go; none configured = logs and the needs-human flag only. */
  escalation?: EscalationTarget;
  healerId: string;
  now?: () => number;
}

/** The healer's ports on the real world: Docker, HTTP, HAProxy, Alertmanager, the orchestrator. */
export function dockerHealerPorts(o: DockerHealerPortsOptions): HealerPorts {
  return {
    placement: o.placement,
    gatherEvidence: (team, placement, policy) => gatherEvidence(o, team, placement, policy),
    restartContainer: async (name) => {
      const team = /^jenkins-(.+)-(blue|green)$/.exec(name)?.[1] ?? name;
      await o.containers(team).restart(name);
    },
    switchTo: switchPort(o.switcher),
    escalate: async (team, reason, evidence) => {
      if (!o.escalation) {
        o.log({ level: "error", msg: "no healing.escalationWebhookUrl configured: escalation only in logs, metrics and the needs-human flag", team, reason });
        return;
      }
      await sendEscalation(o.escalation, { team, reason, evidence, healer: o.healerId, at: new Date(o.now?.() ?? Date.now()) });
    },
    coordination: o.coordination,
    log: o.log,
    now: o.now ?? Date.now,
  };
}

/** The colour a team runs on, as placement needs it. */
export function placementFor(team: { name: string; backendName: string; colours: Record<Colour, { url: string; containerName: string }> }, active: Colour): TeamPlacement {
  const standby: Colour = active === "blue" ? "green" : "blue";
  return { active, standby, activeUrl: team.colours[active].url, containerName: team.colours[active].containerName, backend: team.backendName };
}
