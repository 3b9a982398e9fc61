import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { PlatformModel } from "../config/model";
import { PROJECT } from "../config/schema";
import { DEFAULT_TEAM_HEALING } from "../config/sections/healing";
import { DOCKER_LOG_OPTS } from "../render/alloy";
import { ADMIN_SOCKET_NAME } from "../render/haproxy";
import { healerHost } from "../render/monitoring-targets";
import { cliImage } from "./cli-image";

export interface HealerArgs {
  model: PlatformModel;
  providers: Record<string, docker.Provider>;
  projectDir: string;
  /** The healer role's connection URL (CoordinationDatabase.roleUrls.healer), a secret. */
  databaseUrl: pulumi.Input<string>;
}

/** Paths inside the healer container. */
export const HEALER_CONTAINER_PATHS = {
  databaseUrlFile: "/run/secrets/jenkins-ha-database-url",
  haproxyDir: "/haproxy",
  dockerSocket: "/var/run/docker.sock",
  projectDir: "/opt/jenkins-ha",
} as const;

/** True when any team is watched (`teams.<team>.healing.mode` other than `off`; the seed default is `monitor`). */
export function healingEnabled(model: PlatformModel): boolean {
  return model.teams.some((t) => (t.config.healing?.mode ?? DEFAULT_TEAM_HEALING.mode) !== "off");
}

/** Team keys a switch changes: left out so a switch (even one the healer asks for) never replaces the healer. */
export const SWITCH_VOLATILE_TEAM_KEYS = ["activeEnvironment", "standbyRunning", "switchRecord"] as const;

/**
 * The config the healer reads: teams, hosts, HAProxy, switch limits and healing (no secret
 * lives in these keys), without what a switch changes — the healer learns the active
 * colour from HAProxy and the coordination DB instead.
 */
export function healerStackFile(model: PlatformModel): string {
  const c = model.config;
  const teams = Object.fromEntries(
    Object.entries(c.teams).map(([name, team]) => [name, Object.fromEntries(Object.entries(team).filter(([k]) => !(SWITCH_VOLATILE_TEAM_KEYS as readonly string[]).includes(k)))]),
  );
  const keys = { hosts: c.hosts, platform: c.platform, teams, switch: c.switch, healing: c.healing };
  return YAML.stringify({ config: Object.fromEntries(Object.entries(keys).map(([k, v]) => [`${PROJECT}:${k}`, v])) });
}

/**
 * The healer: one long-running container from the jenkins-ha CLI image running
 * `jenkins-ha heal run`, on `healing.host` (else the monitoring host).
 *
 * - It is the only container besides the dind agents that gets the Docker socket (label
 *   `jenkins-ha.role=healer`, which the policy pack allows): it restarts controllers. It
 *   runs as root for that reason — the socket is root on the host either way.
 * - Host network: it probes each colour directly on the address the model gives
 *   (loopback for a local engine), reaches the coordination DB where it listens, and
 *   serves /metrics and the Alertmanager webhook on `healing.port` where Prometheus and
 *   Alertmanager expect them (render/monitoring-targets.ts, render/alertmanager.ts).
 * - The HAProxy runtime dir is mounted read-only for `show stat` on the admin socket.
 * - The DB URL (healer role) arrives as an uploaded file from the Pulumi secret, never an
 *   env var; `JENKINS_HA_DATABASE_URL_FILE` points at it.
 * - It never runs Pulumi: with `healing.switchVia: queue` (the default) its switch rung is a
 *   request in the coordination DB that the `Infrastructure/Auto-Heal-Switch` job serves on
 *   an ops agent, through the same orchestrator and gates as any switch.
 */
export class Healer extends pulumi.ComponentResource {
  readonly containerName = "jenkins-ha-healer";
  readonly metricsUrl: string;

  constructor(name: string, args: HealerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jenkins-ha:heal:Healer", name, {}, opts);
    const { model } = args;
    const host = healerHost(model);
    const provider = args.providers[host.name];
    const port = model.config.healing.port;
    const image = cliImage(`${name}-cli-${host.name}`, { projectDir: args.projectDir, tag: "healer", provider }, { parent: this });
    const haproxyRuntimeDir = model.config.platform.haproxy.runtimeDir;
    const switchVia = model.config.healing.switchVia;
    if (switchVia === "orchestrator") {
      pulumi.log.warn(
        "healing.switchVia is 'orchestrator', but the Healer container has no Pulumi CLI, workspace or passphrase: its switches will be refused and escalated. " +
          "Use 'queue' (the Infrastructure/Auto-Heal-Switch job runs them) and keep 'orchestrator' for a 'heal run' started where the workspace is.",
        this,
      );
    }

    new docker.Container(
      `${name}-container`,
      {
        name: this.containerName,
        image: image.imageName,
        user: "0:0",
        networkMode: "host",
        restart: "unless-stopped",
        command: [
          "heal", "run",
          "--stack", model.stack,
          "--listen", `0.0.0.0:${port}`,
          "--haproxy-socket", `${HEALER_CONTAINER_PATHS.haproxyDir}/${ADMIN_SOCKET_NAME}`,
          "--switch", switchVia,
        ],
        envs: ["TZ=UTC", `JENKINS_HA_DATABASE_URL_FILE=${HEALER_CONTAINER_PATHS.databaseUrlFile}`],
        uploads: [
          { file: `${HEALER_CONTAINER_PATHS.projectDir}/Pulumi.${model.stack}.yaml`, content: healerStackFile(model) },
          { file: HEALER_CONTAINER_PATHS.databaseUrlFile, content: pulumi.secret(args.databaseUrl), executable: false },
        ],
        volumes: [
          { hostPath: "/var/run/docker.sock", containerPath: HEALER_CONTAINER_PATHS.dockerSocket },
          { hostPath: haproxyRuntimeDir, containerPath: HEALER_CONTAINER_PATHS.haproxyDir, readOnly: true },
        ],
        healthcheck: {
          tests: ["CMD", "node", "-e", `fetch('http://127.0.0.1:${port}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`],
          interval: "30s",
          timeout: "5s",
          retries: 3,
          startPeriod: "30s",
        },
        logDriver: "json-file",
        logOpts: { ...DOCKER_LOG_OPTS },
        labels: [
          { label: "jenkins-ha.managed-by", value: "pulumi" },
          { label: "jenkins-ha.role", value: "healer" },
        ],
      },
      { parent: this, provider },
    );
    this.metricsUrl = `http://${host.address}:${port}/metrics`;
    this.registerOutputs({ containerName: this.containerName, metricsUrl: this.metricsUrl });
  }
}
