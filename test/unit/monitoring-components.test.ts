import * as pulumi from "@pulumi/pulumi";
import type * as docker from "@pulumi/docker";
import { loadPlatformModel } from "../../config/load";
import { PlatformModel } from "../../config/model";
import { renderLoggingFiles, renderMonitoringStackFiles } from "../../render/monitoring";
import { loggingHost, monitoringHost } from "../../render/monitoring-targets";
import { clone, generatedConfig, stackConfig } from "../support/stacks";

type Inputs = Record<string, any>; // provider inputs are untyped JSON

interface Registered {
  type: string;
  name: string;
  inputs: Inputs;
}

const registered: Registered[] = [];

beforeAll(() => {
  pulumi.runtime.setMocks(
    {
      newResource: (args: pulumi.runtime.MockResourceArgs) => {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state: Inputs = { ...args.inputs };
        if (args.type === "random:index/randomPassword:RandomPassword") state.result = "generated-grafana-password";
        if (args.type === "docker:index/remoteImage:RemoteImage") state.imageId = `sha256:${args.inputs.name}`;
        return { id: `${args.name}-id`, state };
      },
      call: (args: pulumi.runtime.MockCallArgs) => {
        throw new Error(`unexpected provider call ${args.token}`);
      },
    },
    "jenkins-ha",
    "prod",
  );
});

beforeEach(() => {
  registered.length = 0;
});

function unwrap<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Lets the mock monitor see every registration of the component and its children. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 50));
}

function find(type: string, name: string): Registered {
  const found = registered.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}: ${registered.filter((r) => r.type === type).map((r) => r.name).join(", ")}`);
  return found[0];
}

function ofType(type: string): Registered[] {
  return registered.filter((r) => r.type === type);
}

/** How a secret input is serialised to the engine. */
const SECRET_SIG = pulumi.runtime.specialSigKey;
const SECRET_VALUE = pulumi.runtime.specialSecretSig;
const CONTAINER = "docker:index/container:Container";
const LOCAL_COMMAND = "command:local:Command";
const REMOTE_COMMAND = "command:remote:Command";

async function providersFor(model: PlatformModel): Promise<Record<string, docker.Provider>> {
  const dockerModule = await import("@pulumi/docker");
  return Object.fromEntries(Object.values(model.hosts).map((h) => [h.name, new dockerModule.Provider(`docker-${h.name}`, { host: h.dockerHost })]));
}

describe("Monitoring component", () => {
  it("declares Prometheus, Alertmanager, Grafana and a node exporter, with health checks and restart policies", async () => {
    const { Monitoring } = await import("../../components/monitoring");
    const model = loadPlatformModel("prod", stackConfig("prod"));
    const files = renderMonitoringStackFiles(model);
    const monitoring = new Monitoring("monitoring", { model, files, host: monitoringHost(model), providers: await providersFor(model) });
    await settle();

    const containers = ofType(CONTAINER);
    expect(containers.map((c) => c.name).sort()).toEqual(["monitoring-alertmanager", "monitoring-grafana", "monitoring-node-exporter-vm1", "monitoring-prometheus"]);
    for (const c of containers) {
      expect(c.inputs.restart).toBe("unless-stopped");
      expect(c.inputs.healthcheck.tests.length).toBeGreaterThan(0);
      expect(c.inputs.privileged).toBeFalsy();
      expect(JSON.stringify(c.inputs.volumes ?? [])).not.toContain("docker.sock");
      // No env var carries a secret: the only *PASSWORD* name is the __FILE path.
      for (const env of (c.inputs.envs ?? []) as string[]) {
        if (/PASSWORD|TOKEN|SECRET/.test(env.split("=")[0])) expect(env).toMatch(/^[A-Z_]+__FILE=\/run\/secrets\//);
      }
    }
    const prometheus = find(CONTAINER, "monitoring-prometheus").inputs;
    expect(prometheus.command).toEqual(expect.arrayContaining(["--config.file=/etc/prometheus/prometheus.yml", "--web.listen-address=127.0.0.1:9090", "--storage.tsdb.retention.time=15d"]));
    expect(prometheus.volumes).toContainEqual(expect.objectContaining({ hostPath: "/var/lib/jenkins-ha/monitoring/prometheus", containerPath: "/etc/prometheus", readOnly: true }));
    expect(prometheus.networkMode).toBe("host");
    expect(find(CONTAINER, "monitoring-alertmanager").inputs.command).toContain("--web.listen-address=127.0.0.1:9093");
    expect(find(CONTAINER, "monitoring-grafana").inputs.envs).toContain("GF_SERVER_HTTP_ADDR=127.0.0.1");

    expect(monitoring.prometheusUrl).toBe("http://127.0.0.1:9090");
    expect(monitoring.alertmanagerUrl).toBe("http://127.0.0.1:9093");
    expect(monitoring.grafanaUrl).toBe("http://127.0.0.1:3000");
  });

  it("writes each rendered file to the host through its own command, so a switch changes one resource", async () => {
    const { Monitoring } = await import("../../components/monitoring");
    const model = loadPlatformModel("prod", stackConfig("prod"));
    const files = renderMonitoringStackFiles(model);
    new Monitoring("monitoring", { model, files, host: monitoringHost(model), providers: await providersFor(model) });
    await settle();
    const fileSd = find(LOCAL_COMMAND, "monitoring-file-prometheus-file_sd-devops-json").inputs;
    expect(fileSd.stdin).toBe(files["prometheus/file_sd/devops.json"]);
    expect(fileSd.create).toContain("'/var/lib/jenkins-ha/monitoring/prometheus/file_sd/devops.json'");
    expect(fileSd.update).toBe(fileSd.create);
    expect(fileSd.delete).toBe("rm -f '/var/lib/jenkins-ha/monitoring/prometheus/file_sd/devops.json'");
    const fileCommands = ofType(LOCAL_COMMAND).filter((c) => c.name.startsWith("monitoring-file-"));
    expect(fileCommands).toHaveLength(Object.keys(files).length);
    // Reloads: Prometheus by SIGHUP (not for file_sd, which it watches), Grafana restarted for datasources.
    expect(find(LOCAL_COMMAND, "monitoring-prometheus-reload").inputs.create).toBe("docker kill --signal=HUP jenkins-ha-prometheus");
    expect(find(LOCAL_COMMAND, "monitoring-alertmanager-reload").inputs.create).toBe("docker kill --signal=HUP jenkins-ha-alertmanager");
  });

  it("a switch changes only the team's file command: reload triggers and containers stay the same", async () => {
    const { Monitoring } = await import("../../components/monitoring");
    const raw = stackConfig("prod");
    const declare = async (config: Record<string, unknown>) => {
      registered.length = 0;
      const model = loadPlatformModel("prod", config);
      new Monitoring("monitoring", { model, files: renderMonitoringStackFiles(model), host: monitoringHost(model), providers: await providersFor(model) });
      await settle();
      return Object.fromEntries(registered.map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
    };
    const before = await declare(raw);
    const flipped = clone(raw) as Inputs;
    flipped.teams.tw.activeEnvironment = "green";
    const after = await declare(flipped);
    const changed = Object.keys(after).filter((k) => after[k] !== before[k]);
    expect(changed).toEqual([`${LOCAL_COMMAND}::monitoring-file-prometheus-file_sd-tw-json`]);
  });

  it("keeps the Grafana admin password a secret, delivered as an uploaded file", async () => {
    const { Monitoring } = await import("../../components/monitoring");
    const model = loadPlatformModel("prod", stackConfig("prod"));
    const monitoring = new Monitoring("monitoring", { model, files: renderMonitoringStackFiles(model), host: monitoringHost(model), providers: await providersFor(model) });
    await settle();
    expect(await unwrap(monitoring.grafanaAdminPassword)).toBe("generated-grafana-password");
    expect(await pulumi.isSecret(monitoring.grafanaAdminPassword)).toBe(true);
    const grafana = find(CONTAINER, "monitoring-grafana").inputs;
    expect(grafana.envs).toContain("GF_SECURITY_ADMIN_PASSWORD__FILE=/run/secrets/grafana-admin-password");
    // The whole uploads input reaches the engine as a secret (Pulumi's secret signature).
    expect(grafana.uploads[SECRET_SIG]).toBe(SECRET_VALUE);
    expect(grafana.uploads.value).toEqual([{ file: "/run/secrets/grafana-admin-password", content: "generated-grafana-password", permissions: "0444" }]);
    expect(JSON.stringify(grafana.envs)).not.toContain("generated-grafana-password");
    expect(find("random:index/randomPassword:RandomPassword", "monitoring-grafana-admin-password").inputs.length).toBe(24);
  });

  it("runs a node exporter on every host and writes files over SSH for ssh:// hosts", async () => {
    const { Monitoring } = await import("../../components/monitoring");
    const base = generatedConfig(6, 3) as { platform: { haproxy: Record<string, unknown> } };
    // Prometheus on vm2 must reach HAProxy's exporter on vm1: bind it where vm2 can reach it.
    base.platform.haproxy.statsBindAddress = "0.0.0.0";
    const raw = { ...base, monitoring: { host: "vm2" } };
    const model = loadPlatformModel("multi", raw);
    new Monitoring("mon", { model, files: renderMonitoringStackFiles(model), host: monitoringHost(model), providers: await providersFor(model) });
    await settle();
    expect(ofType(CONTAINER).filter((c) => c.name.startsWith("mon-node-exporter-")).map((c) => c.name).sort()).toEqual(["mon-node-exporter-vm1", "mon-node-exporter-vm2", "mon-node-exporter-vm3"]);
    expect(find(CONTAINER, "mon-node-exporter-vm3").inputs.command).toContain("--web.listen-address=vm3:9100");
    const fileSd = find(REMOTE_COMMAND, "mon-file-prometheus-file_sd-team-001-json").inputs;
    expect(fileSd.connection).toMatchObject({ host: "vm2", user: "deploy" });
    expect(ofType(LOCAL_COMMAND).filter((c) => c.name.startsWith("mon-file-"))).toEqual([]);
  });
});

describe("Logging component", () => {
  it("declares Loki on the logging host and Alloy on every host, with no Docker socket", async () => {
    const { Logging } = await import("../../components/logging");
    const model = loadPlatformModel("multi", generatedConfig(4, 2));
    const logging = new Logging("logging", { model, files: renderLoggingFiles(model), host: loggingHost(model), providers: await providersFor(model) });
    await settle();
    expect(ofType(CONTAINER).map((c) => c.name).sort()).toEqual(["logging-alloy-vm1", "logging-alloy-vm2", "logging-loki"]);
    for (const c of ofType(CONTAINER)) {
      expect(c.inputs.restart).toBe("unless-stopped");
      expect(c.inputs.healthcheck.tests.length).toBeGreaterThan(0);
      expect(JSON.stringify(c.inputs)).not.toContain("docker.sock");
      expect(c.inputs.privileged).toBeFalsy();
    }
    const alloy = find(CONTAINER, "logging-alloy-vm2").inputs;
    expect(alloy.volumes).toContainEqual(expect.objectContaining({ hostPath: "/var/lib/docker/containers", readOnly: true }));
    expect(alloy.volumes).toContainEqual(expect.objectContaining({ hostPath: "/var/log", containerPath: "/host/var/log", readOnly: true }));
    expect(find(CONTAINER, "logging-loki").inputs.command).toEqual(["-config.file=/etc/loki/loki.yaml"]);
    expect(find(LOCAL_COMMAND, "logging-file-loki-loki-yaml").inputs.stdin).toBe(renderLoggingFiles(model)["loki/loki.yaml"]);
    expect(find(REMOTE_COMMAND, "logging-file-alloy-vm2-config-alloy").inputs.connection).toMatchObject({ host: "vm2" });
    expect(logging.lokiUrl).toBe("http://127.0.0.1:3100");
  });

  it("is independent of Monitoring: declaring it registers no Prometheus, Alertmanager or Grafana resource", async () => {
    const { Logging } = await import("../../components/logging");
    const model = loadPlatformModel("prod", stackConfig("prod"));
    new Logging("logging", { model, files: renderLoggingFiles(model), host: loggingHost(model), providers: await providersFor(model) });
    await settle();
    expect(registered.filter((r) => /prometheus|alertmanager|grafana/.test(r.name))).toEqual([]);
  });

  it("refuses to start without its rendered files", async () => {
    const { Logging } = await import("../../components/logging");
    const model = loadPlatformModel("prod", stackConfig("prod"));
    expect(() => new Logging("logging", { model, files: {}, host: loggingHost(model), providers: {} })).toThrow(/loki\/loki.yaml/);
  });
});
