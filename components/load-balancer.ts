import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PlatformModel } from "../config/model";
import {
  ADMIN_SOCKET_NAME,
  CONFIG_NAME,
  HAPROXY_RUNTIME_DIR,
  renderHaproxyConfig,
} from "../render/haproxy";
import { renderHaproxyInstallScript } from "../render/haproxy-reload";
import { DOCKER_LOG_OPTS } from "../render/alloy";

export const HAPROXY_CONTAINER_NAME = "jenkins-ha-haproxy";

export interface LoadBalancerArgs {
  model: PlatformModel;
  /** Provider of the HAProxy host. */
  provider: docker.Provider;
}

/**
 * HAProxy in front of every team: one frontend per team port, the active colour as the
 * normal server and the standby as `backup`. The config is rendered by a pure function and
 * installed on the host by a command that validates it and reloads HAProxy seamlessly, so a
 * config change never replaces the container.
 */
export class LoadBalancer extends pulumi.ComponentResource {
  readonly configText: pulumi.Output<string>;
  readonly statsUrl: string;
  readonly metricsUrl: string;
  readonly adminSocket: string;
  readonly statsPassword: pulumi.Output<string>;
  readonly frontends: Record<string, string>;

  constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jenkins-ha:loadbalancer:LoadBalancer", name, {}, opts);
    const { model, provider } = args;
    const h = model.config.platform.haproxy;

    const statsPassword = new random.RandomPassword(`${name}-stats-password`, { length: 24, special: false }, { parent: this });
    this.statsPassword = pulumi.secret(statsPassword.result);
    // Only the bcrypt hash goes into haproxy.cfg; the password itself stays a Pulumi secret.
    this.configText = statsPassword.bcryptHash.apply((hash) => renderHaproxyConfig(model, { statsPasswordHash: hash }));

    const installScript = renderHaproxyInstallScript();
    const installCommand = pulumi.interpolate`sh -c '${escapeSingleQuotes(installScript)}' install-haproxy-config ${h.runtimeDir} ${HAPROXY_CONTAINER_NAME} ${h.image}`;
    const dockerHost = model.haproxyHost.dockerHost;
    // The config file must land on the HAProxy host itself: locally for a unix:// engine,
    // over SSH (the same user@host as the docker provider) for an ssh:// one.
    const install = dockerHost.startsWith("ssh://")
      ? new command.remote.Command(
          `${name}-config`,
          { connection: sshConnection(dockerHost), create: installCommand, stdin: this.configText, triggers: [this.configText] },
          { parent: this },
        )
      : new command.local.Command(
          `${name}-config`,
          {
            create: installCommand,
            stdin: this.configText,
            environment: { DOCKER_HOST: dockerHost },
            triggers: [this.configText],
          },
          { parent: this },
        );

    const image = new docker.RemoteImage(`${name}-image`, { name: h.image, keepLocally: true }, { parent: this, provider });
    new docker.Container(
      `${name}-haproxy`,
      {
        name: HAPROXY_CONTAINER_NAME,
        image: image.imageId,
        // Host networking: frontends bind the team ports on the host, and the stats/exporter
        // port stays on the configured (loopback by default) address.
        networkMode: "host",
        command: ["haproxy", "-W", "-db", "-f", `${HAPROXY_RUNTIME_DIR}/${CONFIG_NAME}`],
        volumes: [{ hostPath: h.runtimeDir, containerPath: HAPROXY_RUNTIME_DIR }],
        restart: "unless-stopped",
        logDriver: "json-file",
        logOpts: { ...DOCKER_LOG_OPTS },
        labels: [{ label: "jenkins-ha.managed-by", value: "pulumi" }, { label: "jenkins-ha.role", value: "load-balancer" }],
      },
      { parent: this, provider, dependsOn: [install] },
    );

    const statsHost = h.statsBindAddress === "0.0.0.0" ? model.haproxyHost.address : h.statsBindAddress;
    this.statsUrl = `http://${statsHost}:${h.statsPort}/stats`;
    this.metricsUrl = `http://${statsHost}:${h.statsPort}/metrics`;
    this.adminSocket = `${h.runtimeDir}/${ADMIN_SOCKET_NAME}`;
    this.frontends = Object.fromEntries(model.teams.map((t) => [t.name, t.publicUrl]));

    this.registerOutputs({
      statsUrl: this.statsUrl,
      metricsUrl: this.metricsUrl,
      adminSocket: this.adminSocket,
      frontends: this.frontends,
    });
  }
}

function escapeSingleQuotes(script: string): string {
  return script.replace(/'/g, `'"'"'`);
}

/** SSH connection for a `ssh://user@host[:port]` Docker host (auth: the SSH agent of whoever runs pulumi). */
export function sshConnection(dockerHost: string): command.types.input.remote.ConnectionArgs {
  const url = new URL(dockerHost.replace(/^ssh:\/\//, "http://"));
  return {
    host: url.hostname,
    user: url.username || "root",
    port: url.port ? Number(url.port) : 22,
  };
}
