import * as crypto from "crypto";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { HostModel, PlatformModel } from "../config/model";
import { GRAFANA_DASHBOARDS_DIR } from "../render/grafana";
import { grafanaUrl } from "../render/alert-rules";
import { platformHosts, reachableAddress } from "../render/monitoring-targets";
import { FILE_SD_DIR, HAPROXY_PASSWORD_FILE, PROMETHEUS_CONFIG_DIR } from "../render/prometheus";
import { sshConnection } from "./load-balancer";

export const CONTAINER = {
  prometheus: "jenkins-ha-prometheus",
  alertmanager: "jenkins-ha-alertmanager",
  grafana: "jenkins-ha-grafana",
  nodeExporter: "jenkins-ha-node-exporter",
} as const;

/** Where the Grafana admin password file is uploaded inside its container. */
export const GRAFANA_PASSWORD_FILE = "/run/secrets/grafana-admin-password";

export interface MonitoringArgs {
  model: PlatformModel;
  /** `renderMonitoringStackFiles(model)`: paths relative to `monitoring.configDir`. */
  files: Record<string, string>;
  /** The monitoring host (`monitoringHost(model)`): Prometheus, Alertmanager, Grafana run here. */
  host: HostModel;
  /** Docker provider per host name: a node exporter runs on every platform host. */
  providers: Record<string, docker.Provider>;
  /** HAProxy stats password; used only when the exporter is not on loopback and asks for auth. */
  haproxyStatsPassword?: pulumi.Input<string>;
}

/** A resource name fragment from a file path: `prometheus/file_sd/devops.json` -> `prometheus-file_sd-devops-json`. */
export function fileResourceSuffix(relativePath: string): string {
  return relativePath.replace(/[/.]/g, "-");
}

function sha256(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

/** Loopback when the service listens on every address: what a health check inside host networking calls. */
export function localAddress(bindAddress: string): string {
  return bindAddress === "0.0.0.0" ? "127.0.0.1" : bindAddress;
}

// Written to a temp file and renamed: Prometheus re-reads file_sd files on change and must
// never see half a file.
const WRITE_FILE = `set -eu; f="$1"; mkdir -p "$(dirname "$f")"; cat > "$f.tmp"; chmod 0644 "$f.tmp"; mv "$f.tmp" "$f"`;

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'"'"'`)}'`;
}

/**
 * Writes one file on a Docker host: locally for a `unix://` engine, over SSH for `ssh://`.
 * One resource per file, so a switch (which rewrites one team's file_sd file) shows in the
 * plan as exactly one changed file. `update` rewrites in place: a replacement would run the
 * new create before the old delete and remove the file it just wrote.
 */
export function hostFile(
  name: string,
  host: HostModel,
  absolutePath: string,
  content: pulumi.Input<string>,
  opts: pulumi.CustomResourceOptions,
): command.local.Command | command.remote.Command {
  const write = `sh -c ${shellQuote(WRITE_FILE)} write-file ${shellQuote(absolutePath)}`;
  const remove = `rm -f ${shellQuote(absolutePath)}`;
  const args = { create: write, update: write, delete: remove, stdin: content };
  return host.dockerHost.startsWith("ssh://")
    ? new command.remote.Command(name, { ...args, connection: sshConnection(host.dockerHost) }, opts)
    : new command.local.Command(name, args, opts);
}

/**
 * Runs a docker CLI command against a host's engine (the docker CLI understands ssh://
 * hosts), re-run whenever `triggers` change: used to reload a container after its config
 * files changed, so config changes never replace a container.
 */
export function dockerSignal(name: string, host: HostModel, dockerArgs: string, triggers: pulumi.Input<string>[], opts: pulumi.CustomResourceOptions) {
  return new command.local.Command(name, { create: `docker ${dockerArgs}`, environment: { DOCKER_HOST: host.dockerHost }, triggers }, opts);
}

function healthcheck(url: string, startPeriod = "30s"): docker.types.input.ContainerHealthcheck {
  return {
    tests: ["CMD-SHELL", `wget -q -O /dev/null ${url} || exit 1`],
    interval: "30s",
    timeout: "10s",
    retries: 3,
    startPeriod,
  };
}

function labels(role: string) {
  return [
    { label: "jenkins-ha.managed-by", value: "pulumi" },
    { label: "jenkins-ha.role", value: role },
  ];
}

/**
 * Prometheus, Alertmanager and Grafana on the monitoring host, and a node exporter on every
 * platform host. Config files are written to `monitoring.configDir` on the host and
 * bind-mounted read-only rather than uploaded into the containers: Prometheus re-reads a
 * changed file_sd file by itself, and rules / alertmanager.yml are reloaded with SIGHUP, so
 * a switch or a new alert never recreates a container (and never loses TSDB state).
 * Everything runs with host networking because HAProxy's exporter and the Jenkins ports are
 * reached at the host's own (often loopback) addresses; the listen addresses keep the UIs
 * on `monitoring.bindAddress` (loopback by default).
 */
export class Monitoring extends pulumi.ComponentResource {
  readonly prometheusUrl: string;
  readonly alertmanagerUrl: string;
  readonly grafanaUrl: string;
  readonly nodeExporterUrls: Record<string, string>;
  readonly grafanaAdminPassword: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jenkins-ha:monitoring:Monitoring", name, {}, opts);
    const { model, files, host, providers, haproxyStatsPassword } = args;
    const m = model.config.monitoring;
    const provider = providers[host.name];
    const dir = m.configDir.replace(/\/$/, "");
    const listen = m.bindAddress;
    const local = localAddress(listen);

    const fileResources: Record<string, pulumi.Resource> = {};
    for (const [relative, content] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
      fileResources[relative] = hostFile(`${name}-file-${fileResourceSuffix(relative)}`, host, `${dir}/${relative}`, content, { parent: this });
    }
    const filesUnder = (prefix: string) => Object.entries(fileResources).filter(([p]) => p.startsWith(prefix)).map(([, r]) => r);
    const contentOf = (predicate: (path: string) => boolean) =>
      sha256(Object.entries(files).filter(([p]) => predicate(p)).sort(([a], [b]) => a.localeCompare(b)).map(([p, t]) => `${p}\n${t}`).join("\n"));

    const prometheusDeps = [...filesUnder("prometheus/")];
    if (haproxyStatsPassword !== undefined) {
      prometheusDeps.push(
        hostFile(`${name}-haproxy-stats-password`, host, `${dir}/prometheus/${HAPROXY_PASSWORD_FILE}`, pulumi.secret(haproxyStatsPassword), { parent: this }),
      );
    }

    const image = (key: keyof typeof m.images, p: docker.Provider, suffix = "") =>
      new docker.RemoteImage(`${name}-${key}${suffix}-image`, { name: m.images[key], keepLocally: true }, { parent: this, provider: p });

    // ---- Prometheus
    const prometheusData = new docker.Volume(`${name}-prometheus-data`, { name: "jenkins-ha-prometheus-data" }, { parent: this, provider });
    const prometheus = new docker.Container(
      `${name}-prometheus`,
      {
        name: CONTAINER.prometheus,
        image: image("prometheus", provider).imageId,
        networkMode: "host",
        command: [
          `--config.file=${PROMETHEUS_CONFIG_DIR}/prometheus.yml`,
          "--storage.tsdb.path=/prometheus",
          `--storage.tsdb.retention.time=${m.retentionDays}d`,
          `--web.listen-address=${listen}:${m.ports.prometheus}`,
          `--web.external-url=http://${local}:${m.ports.prometheus}/`,
        ],
        volumes: [
          { hostPath: `${dir}/prometheus`, containerPath: PROMETHEUS_CONFIG_DIR, readOnly: true },
          { volumeName: prometheusData.name, containerPath: "/prometheus" },
        ],
        healthcheck: healthcheck(`http://${local}:${m.ports.prometheus}/-/healthy`),
        restart: "unless-stopped",
        labels: labels("prometheus"),
      },
      { parent: this, provider, dependsOn: prometheusDeps },
    );
    // file_sd files are left out on purpose: Prometheus watches them itself.
    dockerSignal(
      `${name}-prometheus-reload`,
      host,
      `kill --signal=HUP ${CONTAINER.prometheus}`,
      [contentOf((p) => p.startsWith("prometheus/") && !p.startsWith(`prometheus/${FILE_SD_DIR}/`))],
      { parent: this, dependsOn: [prometheus, ...prometheusDeps] },
    );

    // ---- Alertmanager
    const alertmanagerData = new docker.Volume(`${name}-alertmanager-data`, { name: "jenkins-ha-alertmanager-data" }, { parent: this, provider });
    const alertmanager = new docker.Container(
      `${name}-alertmanager`,
      {
        name: CONTAINER.alertmanager,
        image: image("alertmanager", provider).imageId,
        networkMode: "host",
        command: [
          "--config.file=/etc/alertmanager/alertmanager.yml",
          "--storage.path=/alertmanager",
          `--web.listen-address=${listen}:${m.ports.alertmanager}`,
          // A single Alertmanager: no gossip port open on every interface.
          "--cluster.listen-address=",
        ],
        volumes: [
          { hostPath: `${dir}/alertmanager`, containerPath: "/etc/alertmanager", readOnly: true },
          { volumeName: alertmanagerData.name, containerPath: "/alertmanager" },
        ],
        healthcheck: healthcheck(`http://${local}:${m.ports.alertmanager}/-/healthy`),
        restart: "unless-stopped",
        labels: labels("alertmanager"),
      },
      { parent: this, provider, dependsOn: filesUnder("alertmanager/") },
    );
    dockerSignal(`${name}-alertmanager-reload`, host, `kill --signal=HUP ${CONTAINER.alertmanager}`, [contentOf((p) => p.startsWith("alertmanager/"))], {
      parent: this,
      dependsOn: [alertmanager, ...filesUnder("alertmanager/")],
    });

    // ---- Grafana
    const password = new random.RandomPassword(`${name}-grafana-admin-password`, { length: 24, special: false }, { parent: this });
    this.grafanaAdminPassword = pulumi.secret(password.result);
    const grafanaData = new docker.Volume(`${name}-grafana-data`, { name: "jenkins-ha-grafana-data" }, { parent: this, provider });
    this.grafanaUrl = grafanaUrl(model);
    const grafana = new docker.Container(
      `${name}-grafana`,
      {
        name: CONTAINER.grafana,
        image: image("grafana", provider).imageId,
        networkMode: "host",
        envs: [
          `GF_SERVER_HTTP_ADDR=${listen}`,
          `GF_SERVER_HTTP_PORT=${m.ports.grafana}`,
          `GF_SERVER_ROOT_URL=${this.grafanaUrl}/`,
          `GF_SECURITY_ADMIN_USER=${m.grafana.adminUser}`,
          // The value is a path: the password itself is only in the uploaded file.
          `GF_SECURITY_ADMIN_PASSWORD__FILE=${GRAFANA_PASSWORD_FILE}`,
          `GF_USERS_ALLOW_SIGN_UP=${m.grafana.allowSignUp}`,
          "GF_ANALYTICS_REPORTING_ENABLED=false",
          "GF_ANALYTICS_CHECK_FOR_UPDATES=false",
        ],
        uploads: [{ file: GRAFANA_PASSWORD_FILE, content: this.grafanaAdminPassword, permissions: "0444" }],
        volumes: [
          { volumeName: grafanaData.name, containerPath: "/var/lib/grafana" },
          { hostPath: `${dir}/grafana/provisioning`, containerPath: "/etc/grafana/provisioning", readOnly: true },
          { hostPath: `${dir}/grafana/dashboards`, containerPath: GRAFANA_DASHBOARDS_DIR, readOnly: true },
        ],
        healthcheck: healthcheck(`http://${local}:${m.ports.grafana}/api/health`, "60s"),
        restart: "unless-stopped",
        labels: labels("grafana"),
      },
      { parent: this, provider, dependsOn: filesUnder("grafana/") },
    );
    // Grafana re-reads dashboards by itself (provider updateIntervalSeconds), but datasources only at start.
    dockerSignal(`${name}-grafana-restart`, host, `restart ${CONTAINER.grafana}`, [contentOf((p) => p.startsWith("grafana/provisioning/datasources/"))], {
      parent: this,
      dependsOn: [grafana, ...filesUnder("grafana/provisioning/")],
    });

    // ---- node exporter on every host of the platform
    this.nodeExporterUrls = {};
    for (const h of platformHosts(model)) {
      const p = providers[h.name];
      const address = `${h.address}:${m.ports.nodeExporter}`;
      new docker.Container(
        `${name}-node-exporter-${h.name}`,
        {
          name: CONTAINER.nodeExporter,
          image: image("nodeExporter", p, `-${h.name}`).imageId,
          networkMode: "host",
          pidMode: "host",
          command: [
            "--path.rootfs=/host",
            `--web.listen-address=${address}`,
            `--collector.textfile.directory=/host${m.textfileDir}`,
          ],
          mounts: [{ type: "bind", source: "/", target: "/host", readOnly: true, bindOptions: { propagation: "rslave" } }],
          healthcheck: healthcheck(`http://${address}/metrics`),
          restart: "unless-stopped",
          labels: labels("node-exporter"),
        },
        { parent: this, provider: p },
      );
      this.nodeExporterUrls[h.name] = `http://${address}/metrics`;
    }

    // Addresses as seen on the monitoring host (loopback by default: reach them through SSH or a proxy).
    this.prometheusUrl = `http://${reachableAddress(listen, host)}:${m.ports.prometheus}`;
    this.alertmanagerUrl = `http://${reachableAddress(listen, host)}:${m.ports.alertmanager}`;

    this.registerOutputs({
      prometheusUrl: this.prometheusUrl,
      alertmanagerUrl: this.alertmanagerUrl,
      grafanaUrl: this.grafanaUrl,
      nodeExporterUrls: this.nodeExporterUrls,
      grafanaAdminPassword: this.grafanaAdminPassword,
    });
  }
}
