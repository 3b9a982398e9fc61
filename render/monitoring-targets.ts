import { Colour, COLOURS } from "../config/schema";
import { HostModel, PlatformModel, Role } from "../config/model";

/** The path the Jenkins Prometheus plugin serves on; Jenkins redirects `/prometheus` to it. */
export const JENKINS_METRICS_PATH = "/prometheus/";
export const HAPROXY_METRICS_PATH = "/metrics";
/** Where the healer serves `/metrics` (same port as its Alertmanager webhook). */
export const HEALER_METRICS_PATH = "/metrics";

/** Labels every Jenkins target carries; alerts, recording rules and dashboards rely on them. */
export interface JenkinsTargetLabels {
  team: string;
  environment: Colour;
  role: Role;
  host: string;
}

export interface JenkinsTarget {
  /** `address:port` of this colour's web port, bypassing HAProxy. */
  target: string;
  labels: JenkinsTargetLabels;
  /**
   * Whether Prometheus scrapes it: only colours that run. In resource-optimised mode the
   * stopped standby is left out, so it never shows as "down".
   */
  scraped: boolean;
}

export interface HostTarget {
  target: string;
  labels: { host: string };
}

/** The `monitoringTargets` stack output: what Prometheus scrapes, derived from the model only. */
export interface MonitoringTargets {
  jenkins: {
    metricsPath: string;
    /** Per team, one entry per colour (blue then green). */
    teams: Record<string, JenkinsTarget[]>;
  };
  haproxy: { metricsPath: string; target: string; labels: { host: string }; basicAuth: boolean };
  nodeExporters: HostTarget[];
  healer: { metricsPath: string; target: string; labels: { host: string } };
}

export function isLoopback(address: string): boolean {
  return address === "127.0.0.1" || address === "::1" || address === "localhost";
}

/** The address a service bound to `bindAddress` on `host` is reached at ("0.0.0.0" means the host's own address). */
export function reachableAddress(bindAddress: string, host: HostModel): string {
  return bindAddress === "0.0.0.0" || bindAddress === "::" ? host.address : bindAddress;
}

/** Host that runs Prometheus, Alertmanager and Grafana. */
export function monitoringHost(model: PlatformModel): HostModel {
  const name = model.config.monitoring.host;
  return name === undefined ? model.haproxyHost : model.hosts[name];
}

/** Host that runs Loki (Alloy runs on every host). */
export function loggingHost(model: PlatformModel): HostModel {
  const name = model.config.logging.host;
  return name === undefined ? monitoringHost(model) : model.hosts[name];
}

/** Host the healer runs on: `healing.host`, else the monitoring host. */
export function healerHost(model: PlatformModel): HostModel {
  const name = model.config.healing.host;
  return name === undefined ? monitoringHost(model) : model.hosts[name];
}

/** Hosts that run something of ours (a team or HAProxy): each gets a node exporter and an Alloy. */
export function platformHosts(model: PlatformModel): HostModel[] {
  const used = new Set([model.haproxyHost.name, ...model.teams.map((t) => t.host.name)]);
  return Object.values(model.hosts)
    .filter((h) => used.has(h.name))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Address Prometheus uses to reach a node exporter: its host's address. The exporter
 * listens there (loopback for the local engine), so it is never published wider than the
 * address the rest of the platform already uses for that host.
 */
export function nodeExporterTarget(model: PlatformModel, host: HostModel): string {
  return `${host.address}:${model.config.monitoring.ports.nodeExporter}`;
}

export function monitoringTargets(model: PlatformModel): MonitoringTargets {
  const h = model.config.platform.haproxy;
  const teams = Object.fromEntries(
    model.teams.map((team) => [
      team.name,
      COLOURS.map((colour): JenkinsTarget => {
        const c = team.colours[colour];
        return {
          target: `${team.host.address}:${c.webPort}`,
          labels: { team: team.name, environment: colour, role: c.role, host: team.host.name },
          scraped: c.running,
        };
      }),
    ]),
  );
  const healer = healerHost(model);
  return {
    jenkins: { metricsPath: JENKINS_METRICS_PATH, teams },
    haproxy: {
      metricsPath: HAPROXY_METRICS_PATH,
      target: `${reachableAddress(h.statsBindAddress, model.haproxyHost)}:${h.statsPort}`,
      labels: { host: model.haproxyHost.name },
      // HAProxy asks for the stats user's password on /metrics unless it listens on loopback.
      basicAuth: !isLoopback(h.statsBindAddress),
    },
    nodeExporters: platformHosts(model).map((host) => ({ target: nodeExporterTarget(model, host), labels: { host: host.name } })),
    healer: {
      metricsPath: HEALER_METRICS_PATH,
      target: `${healer.address}:${model.config.healing.port}`,
      labels: { host: healer.name },
    },
  };
}
