import * as crypto from "crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HostModel, PlatformModel } from "../config/model";
import { ALLOY_DOCKER_LOGS_DIR, ALLOY_HOST_LOG_DIR } from "../render/alloy";
import { LOKI_DATA_DIR } from "../render/loki";
import { platformHosts, reachableAddress } from "../render/monitoring-targets";
import { dockerSignal, fileResourceSuffix, hostFile, localAddress } from "./monitoring";

export const LOKI_CONTAINER = "jenkins-ha-loki";
export const ALLOY_CONTAINER = "jenkins-ha-alloy";

export interface LoggingArgs {
  model: PlatformModel;
  /** `renderLoggingFiles(model)`: `loki/loki.yaml` and `alloy/<host>/config.alloy`. */
  files: Record<string, string>;
  /** The Loki host (`loggingHost(model)`). */
  host: HostModel;
  /** Docker provider per host name: Alloy runs on every platform host. */
  providers: Record<string, docker.Provider>;
}

function sha256(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

/**
 * Loki (single binary) on the logging host and Grafana Alloy on every platform host.
 * Independent of `Monitoring`: the program declares it only when `logging.enabled`, so
 * turning logging off removes these resources and nothing of Prometheus / Alertmanager.
 * Alloy reads Docker's json-file logs and /var/log from read-only mounts; it gets no
 * Docker socket (policy).
 */
export class Logging extends pulumi.ComponentResource {
  readonly lokiUrl: string;
  readonly lokiPushUrl: string;

  constructor(name: string, args: LoggingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jenkins-ha:logging:Logging", name, {}, opts);
    const { model, files, host, providers } = args;
    const l = model.config.logging;
    const dir = l.configDir.replace(/\/$/, "");
    const local = localAddress(l.bindAddress);
    const provider = providers[host.name];

    const lokiConfig = files["loki/loki.yaml"];
    if (lokiConfig === undefined) throw new Error("Logging needs files['loki/loki.yaml'] (renderLoggingFiles(model))");
    const lokiFile = hostFile(`${name}-file-${fileResourceSuffix("loki/loki.yaml")}`, host, `${dir}/loki/loki.yaml`, lokiConfig, { parent: this });

    const lokiImage = new docker.RemoteImage(`${name}-loki-image`, { name: l.images.loki, keepLocally: true }, { parent: this, provider });
    const lokiData = new docker.Volume(`${name}-loki-data`, { name: "jenkins-ha-loki-data" }, { parent: this, provider });
    const loki = new docker.Container(
      `${name}-loki`,
      {
        name: LOKI_CONTAINER,
        image: lokiImage.imageId,
        networkMode: "host",
        command: ["-config.file=/etc/loki/loki.yaml"],
        volumes: [
          { hostPath: `${dir}/loki`, containerPath: "/etc/loki", readOnly: true },
          { volumeName: lokiData.name, containerPath: LOKI_DATA_DIR },
        ],
        // The Loki image is distroless (no shell, no wget): Loki checks itself.
        healthcheck: { tests: ["CMD", "/usr/bin/loki", "-config.file=/etc/loki/loki.yaml", "-health"], interval: "30s", timeout: "10s", retries: 3, startPeriod: "60s" },
        restart: "unless-stopped",
        labels: [
          { label: "jenkins-ha.managed-by", value: "pulumi" },
          { label: "jenkins-ha.role", value: "loki" },
        ],
      },
      { parent: this, provider, dependsOn: [lokiFile] },
    );
    // Loki reads its config only at start.
    dockerSignal(`${name}-loki-restart`, host, `restart ${LOKI_CONTAINER}`, [sha256(lokiConfig)], { parent: this, dependsOn: [loki, lokiFile] });

    for (const h of platformHosts(model)) {
      const relative = `alloy/${h.name}/config.alloy`;
      const text = files[relative];
      if (text === undefined) throw new Error(`Logging needs files['${relative}'] (renderLoggingFiles(model))`);
      const p = providers[h.name];
      const file = hostFile(`${name}-file-${fileResourceSuffix(relative)}`, h, `${dir}/${relative}`, text, { parent: this });
      const alloyImage = new docker.RemoteImage(`${name}-alloy-${h.name}-image`, { name: l.images.alloy, keepLocally: true }, { parent: this, provider: p });
      const alloyData = new docker.Volume(`${name}-alloy-${h.name}-data`, { name: "jenkins-ha-alloy-data" }, { parent: this, provider: p });
      const alloyListen = `${h.name === host.name ? local : "127.0.0.1"}:${l.ports.alloy}`;
      const alloy = new docker.Container(
        `${name}-alloy-${h.name}`,
        {
          name: ALLOY_CONTAINER,
          image: alloyImage.imageId,
          // Pushes to Loki on the host's own (loopback by default) address.
          networkMode: "host",
          command: ["run", `--server.http.listen-addr=${alloyListen}`, "--storage.path=/var/lib/alloy/data", "/etc/alloy/config.alloy"],
          volumes: [
            { hostPath: `${dir}/alloy/${h.name}`, containerPath: "/etc/alloy", readOnly: true },
            { volumeName: alloyData.name, containerPath: "/var/lib/alloy/data" },
            { hostPath: "/var/lib/docker/containers", containerPath: ALLOY_DOCKER_LOGS_DIR, readOnly: true },
            { hostPath: "/var/log", containerPath: ALLOY_HOST_LOG_DIR, readOnly: true },
          ],
          // The Alloy image has bash but neither curl nor wget.
          healthcheck: {
            tests: ["CMD", "bash", "-c", `exec 3<>/dev/tcp/${alloyListen.replace(/:(\d+)$/, "/$1")} && printf 'GET /-/ready HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q ' 200 ' <&3`],
            interval: "30s",
            timeout: "10s",
            retries: 3,
            startPeriod: "30s",
          },
          restart: "unless-stopped",
          labels: [
            { label: "jenkins-ha.managed-by", value: "pulumi" },
            { label: "jenkins-ha.role", value: "alloy" },
          ],
        },
        { parent: this, provider: p, dependsOn: [file] },
      );
      dockerSignal(`${name}-alloy-${h.name}-reload`, h, `kill --signal=HUP ${ALLOY_CONTAINER}`, [sha256(text)], { parent: this, dependsOn: [alloy, file] });
    }

    this.lokiUrl = `http://${reachableAddress(l.bindAddress, host)}:${l.ports.loki}`;
    this.lokiPushUrl = `${this.lokiUrl}/loki/api/v1/push`;
    this.registerOutputs({ lokiUrl: this.lokiUrl, lokiPushUrl: this.lokiPushUrl });
  }
}
