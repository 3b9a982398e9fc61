import {
  AgentConfig,
  Colour,
  GREEN_PORT_OFFSET,
  HostConfig,
  StackConfig,
  TeamConfig,
} from "./schema";

/** A Docker host with what the rest of the program derives from its URL. */
export interface HostModel {
  name: string;
  dockerHost: string;
  /** Address that HAProxy and Prometheus use to reach ports published on this host. */
  address: string;
  /**
   * Docker API URL the controllers' docker cloud uses to start agents. Jenkins containers
   * never get the Docker socket (policy), so agents go through the engine's TLS port.
   */
  agentDockerHost: string;
}

export type Role = "active" | "standby";

/** One colour of one team: a container with its own ports and home volume. */
export interface ColourModel {
  colour: Colour;
  role: Role;
  webPort: number;
  agentPort: number;
  containerName: string;
  homeVolumeName: string;
  /** Whether the container should be running (resource-optimised mode stops the standby). */
  running: boolean;
  /** Direct URL of this colour, bypassing HAProxy. */
  url: string;
}

export interface TeamModel {
  name: string;
  config: TeamConfig;
  host: HostModel;
  activeEnvironment: Colour;
  standbyEnvironment: Colour;
  colours: Record<Colour, ColourModel>;
  publicPort: number;
  /** URL users reach the team on, through HAProxy. */
  publicUrl: string;
  imageDir: string;
  agents: AgentConfig[];
  /** HAProxy backend name; the runtime API addresses servers as `<backend>/<colour>`. */
  backendName: string;
}

export interface PlatformModel {
  stack: string;
  config: StackConfig;
  hosts: Record<string, HostModel>;
  teams: TeamModel[];
  haproxyHost: HostModel;
}

export function otherColour(colour: Colour): Colour {
  return colour === "blue" ? "green" : "blue";
}

export function portsFor(team: Pick<TeamConfig, "webPort" | "agentPort">, colour: Colour) {
  const offset = colour === "green" ? GREEN_PORT_OFFSET : 0;
  return { webPort: team.webPort + offset, agentPort: team.agentPort + offset };
}

export function homeVolumeName(team: string, colour: Colour): string {
  return `jenkins-${team}-${colour}-home`;
}

export function containerName(team: string, colour: Colour): string {
  return `jenkins-${team}-${colour}`;
}

/** The address ports on a Docker host are reached at, from its URL when not given. */
export function hostModel(name: string, host: HostConfig): HostModel {
  const dockerHost = typeof host === "string" ? host : host.dockerHost;
  const explicit = typeof host === "string" ? undefined : host.address;
  const address = explicit ?? addressFromDockerHost(dockerHost);
  const agentDockerHost =
    (typeof host === "string" ? undefined : host.agentDockerHost) ??
    (dockerHost.startsWith("unix://") ? "tcp://host.docker.internal:2376" : `tcp://${address}:2376`);
  return { name, dockerHost, address, agentDockerHost };
}

export function addressFromDockerHost(dockerHost: string): string {
  if (dockerHost.startsWith("unix://")) return "127.0.0.1";
  const url = new URL(dockerHost.replace(/^ssh:\/\//, "http://").replace(/^tcp:\/\//, "http://"));
  return url.hostname;
}

/** Derives everything the renderers and components need from validated config. */
export function buildPlatformModel(stack: string, config: StackConfig): PlatformModel {
  const hosts = Object.fromEntries(
    Object.entries(config.hosts).map(([name, h]) => [name, hostModel(name, h)]),
  );
  const haproxyHost = hosts[config.platform.haproxy.host];
  const teams = Object.entries(config.teams)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, team]): TeamModel => {
      const host = hosts[team.host];
      const active = team.activeEnvironment;
      const colour = (c: Colour): ColourModel => {
        const ports = portsFor(team, c);
        const role: Role = c === active ? "active" : "standby";
        return {
          colour: c,
          role,
          ...ports,
          containerName: containerName(name, c),
          homeVolumeName: homeVolumeName(name, c),
          running: role === "active" || !config.platform.resourceOptimised || team.standbyRunning,
          url: `http://${host.address}:${ports.webPort}`,
        };
      };
      return {
        name,
        config: team,
        host,
        activeEnvironment: active,
        standbyEnvironment: otherColour(active),
        colours: { blue: colour("blue"), green: colour("green") },
        publicPort: team.publicPort,
        publicUrl: `http://${haproxyHost.address}:${team.publicPort}`,
        imageDir: team.imageDir ?? `jenkins/${name}`,
        agents: team.agents,
        backendName: `jenkins_${name.replace(/-/g, "_")}`,
      };
    });
  return { stack, config, hosts, teams, haproxyHost };
}
