import YAML from "yaml";
import { PlatformModel, TeamModel } from "../config/model";
import { RECORDING, teamDashboardUid } from "./alert-rules";
import { loggingHost, reachableAddress } from "./monitoring-targets";
import { header } from "./prometheus";

export const PROMETHEUS_DATASOURCE = { type: "prometheus", uid: "prometheus" } as const;
export const LOKI_DATASOURCE = { type: "loki", uid: "loki" } as const;
/** Inside the Grafana container. */
export const GRAFANA_DASHBOARDS_DIR = "/var/lib/grafana/dashboards";
export const OVERVIEW_UID = "jenkins-ha-overview";

export interface PanelTarget {
  refId: string;
  expr: string;
  legendFormat?: string;
}

export interface Panel {
  id: number;
  type: "stat" | "timeseries" | "logs" | "table";
  title: string;
  datasource: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets: PanelTarget[];
  fieldConfig?: { defaults: Record<string, unknown>; overrides: unknown[] };
  options?: Record<string, unknown>;
}

export interface Annotation {
  name: string;
  datasource: { type: string; uid: string };
  enable: boolean;
  iconColor: string;
  expr: string;
  step: string;
  titleFormat: string;
  textFormat?: string;
}

export interface Dashboard {
  uid: string;
  title: string;
  tags: string[];
  schemaVersion: number;
  version: number;
  editable: boolean;
  refresh: string;
  time: { from: string; to: string };
  timezone: string;
  annotations: { list: Annotation[] };
  templating: { list: unknown[] };
  panels: Panel[];
}

interface PanelSpec {
  type: Panel["type"];
  title: string;
  targets: Array<Omit<PanelTarget, "refId">>;
  unit?: string;
  /** A red threshold line/colour at this value. */
  threshold?: { value: number; bad: "above" | "below" };
  width?: number;
  height?: number;
  datasource?: Panel["datasource"];
  options?: Record<string, unknown>;
}

/** Lays panels out left to right on a 24-column grid, wrapping rows. */
function layout(specs: PanelSpec[]): Panel[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return specs.map((spec, index) => {
    const w = spec.width ?? 8;
    const h = spec.height ?? 7;
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const panel: Panel = {
      id: index + 1,
      type: spec.type,
      title: spec.title,
      datasource: spec.datasource ?? { ...PROMETHEUS_DATASOURCE },
      gridPos: { h, w, x, y },
      targets: spec.targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), ...t })),
    };
    if (spec.type !== "logs") panel.fieldConfig = { defaults: fieldDefaults(spec), overrides: [] };
    if (spec.options) panel.options = spec.options;
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return panel;
  });
}

function fieldDefaults(spec: PanelSpec): Record<string, unknown> {
  const defaults: Record<string, unknown> = {};
  if (spec.unit) defaults.unit = spec.unit;
  if (spec.threshold) {
    const { value, bad } = spec.threshold;
    defaults.thresholds = {
      mode: "absolute",
      steps:
        bad === "above"
          ? [{ color: "green", value: null }, { color: "red", value }]
          : [{ color: "red", value: null }, { color: "green", value }],
    };
    if (spec.type === "timeseries") defaults.custom = { thresholdsStyle: { mode: "line" } };
  }
  return defaults;
}

function annotations(selector: string): Annotation[] {
  return [
    {
      name: "Switches",
      datasource: { ...PROMETHEUS_DATASOURCE },
      enable: true,
      iconColor: "blue",
      expr: `changes(jenkins_ha_switch_last_timestamp_seconds${selector}[2m]) > 0`,
      step: "60s",
      titleFormat: "switch: {{team}} -> {{environment}}",
    },
    {
      name: "Heal actions",
      datasource: { ...PROMETHEUS_DATASOURCE },
      enable: true,
      iconColor: "orange",
      expr: `increase(jenkins_ha_heal_actions_total${selector}[2m]) > 0`,
      step: "60s",
      titleFormat: "heal: {{team}} {{action}}",
    },
  ];
}

function dashboard(model: PlatformModel, uid: string, title: string, tags: string[], panels: Panel[], annotationSelector: string): Dashboard {
  return {
    uid,
    title,
    tags: ["jenkins-ha", ...tags],
    schemaVersion: 39,
    version: 1,
    editable: false,
    refresh: model.config.monitoring.grafana.refresh,
    time: { from: "now-6h", to: "now" },
    timezone: "browser",
    annotations: { list: annotations(annotationSelector) },
    templating: { list: [] },
    panels,
  };
}

export function teamDashboard(model: PlatformModel, team: TeamModel): Dashboard {
  const t = model.config.monitoring.thresholds;
  const byTeam = `{team="${team.name}"}`;
  const active = `{team="${team.name}",role="active"}`;
  const specs: PanelSpec[] = [
    {
      type: "stat",
      title: "Active colour",
      targets: [{ expr: `${RECORDING.activeUp}${byTeam}`, legendFormat: "{{environment}}" }],
      options: { textMode: "name", colorMode: "background", reduceOptions: { calcs: ["lastNotNull"] } },
      threshold: { value: 1, bad: "below" },
      width: 6,
    },
    { type: "stat", title: "Availability (5m)", targets: [{ expr: `${RECORDING.availability}${byTeam}` }], unit: "percentunit", threshold: { value: t.minAvailability, bad: "below" }, width: 6 },
    { type: "stat", title: "Error rate (5m)", targets: [{ expr: `${RECORDING.errorRate}${byTeam}` }], unit: "percentunit", threshold: { value: t.maxErrorRate, bad: "above" }, width: 6 },
    { type: "stat", title: "p95 response time", targets: [{ expr: `${RECORDING.p95}${byTeam}` }], unit: "s", threshold: { value: t.maxP95Ms / 1000, bad: "above" }, width: 6 },
    { type: "timeseries", title: "Availability", targets: [{ expr: `${RECORDING.availability}${byTeam}`, legendFormat: "availability" }], unit: "percentunit", threshold: { value: t.minAvailability, bad: "below" } },
    { type: "timeseries", title: "Error rate", targets: [{ expr: `${RECORDING.errorRate}${byTeam}`, legendFormat: "5xx / requests" }], unit: "percentunit", threshold: { value: t.maxErrorRate, bad: "above" } },
    { type: "timeseries", title: "p95 response time", targets: [{ expr: `${RECORDING.p95}${byTeam}`, legendFormat: "p95" }], unit: "s", threshold: { value: t.maxP95Ms / 1000, bad: "above" } },
    { type: "timeseries", title: "Requests", targets: [{ expr: `${RECORDING.requests}${byTeam}`, legendFormat: "requests/s" }], unit: "reqps" },
    { type: "timeseries", title: "HAProxy weight per colour", targets: [{ expr: `haproxy_server_weight${byTeam}`, legendFormat: "{{environment}}" }] },
    {
      type: "timeseries",
      title: "Build queue",
      targets: [
        { expr: `jenkins_queue_size_value${active}`, legendFormat: "queued" },
        { expr: `jenkins_queue_stuck_value${active}`, legendFormat: "stuck" },
      ],
    },
    {
      type: "timeseries",
      title: "Executors",
      targets: [
        { expr: `sum(default_jenkins_executors_online${active})`, legendFormat: "online" },
        { expr: `sum(default_jenkins_executors_busy${active})`, legendFormat: "busy" },
        { expr: `jenkins_node_offline_value${active}`, legendFormat: "agents offline" },
      ],
    },
    { type: "timeseries", title: "JVM heap", targets: [{ expr: `vm_memory_heap_usage{team="${team.name}"}`, legendFormat: "{{environment}} ({{role}})" }], unit: "percentunit", threshold: { value: t.maxHeapRatio, bad: "above" } },
    {
      type: "stat",
      title: "Last verified backup",
      targets: [{ expr: `time() - jenkins_ha_backup_last_success_timestamp_seconds${byTeam}` }],
      unit: "s",
      threshold: { value: 26 * 3600, bad: "above" },
      width: 12,
    },
    {
      type: "stat",
      title: "Disk free (home)",
      targets: [{ expr: `min(default_jenkins_file_store_available_bytes${active} / default_jenkins_file_store_capacity_bytes${active})` }],
      unit: "percentunit",
      threshold: { value: t.minDiskFreeRatio, bad: "below" },
      width: 12,
    },
  ];
  if (model.config.logging.enabled) {
    specs.push({ type: "logs", title: "Logs", datasource: { ...LOKI_DATASOURCE }, targets: [{ expr: `{team="${team.name}"}` }], width: 24, height: 10 });
  }
  return dashboard(model, teamDashboardUid(team.name), `Jenkins ${team.name}`, ["team", team.name], layout(specs), byTeam);
}

export function overviewDashboard(model: PlatformModel): Dashboard {
  const t = model.config.monitoring.thresholds;
  const specs: PanelSpec[] = [
    { type: "stat", title: "Active colour per team", targets: [{ expr: RECORDING.activeUp, legendFormat: "{{team}}: {{environment}}" }], threshold: { value: 1, bad: "below" }, options: { textMode: "value_and_name", colorMode: "background" }, width: 12 },
    { type: "stat", title: "Teams down", targets: [{ expr: RECORDING.teamsDownRatio }], unit: "percentunit", threshold: { value: t.platformOutageRatio, bad: "above" }, width: 6 },
    { type: "stat", title: "HAProxy exporter", targets: [{ expr: `up{job="haproxy"}` }], threshold: { value: 1, bad: "below" }, width: 6 },
    { type: "timeseries", title: "Availability by team", targets: [{ expr: RECORDING.availability, legendFormat: "{{team}}" }], unit: "percentunit", threshold: { value: t.minAvailability, bad: "below" } },
    { type: "timeseries", title: "Error rate by team", targets: [{ expr: RECORDING.errorRate, legendFormat: "{{team}}" }], unit: "percentunit", threshold: { value: t.maxErrorRate, bad: "above" } },
    { type: "timeseries", title: "p95 by team", targets: [{ expr: RECORDING.p95, legendFormat: "{{team}}" }], unit: "s", threshold: { value: t.maxP95Ms / 1000, bad: "above" } },
    { type: "table", title: "Firing alerts", targets: [{ expr: `ALERTS{alertstate="firing"}`, legendFormat: "{{alertname}} {{team}}" }], width: 12 },
    { type: "timeseries", title: "Last verified backup age", targets: [{ expr: "time() - jenkins_ha_backup_last_success_timestamp_seconds", legendFormat: "{{team}}" }], unit: "s", width: 12 },
    { type: "timeseries", title: "Heal actions (1h)", targets: [{ expr: "sum by (team, action) (increase(jenkins_ha_heal_actions_total[1h]))", legendFormat: "{{team}} {{action}}" }], width: 24 },
  ];
  return dashboard(model, OVERVIEW_UID, "Jenkins HA platform", ["overview"], layout(specs), "");
}

export function renderDatasources(model: PlatformModel): Record<string, string> {
  const m = model.config.monitoring;
  const prometheus = {
    apiVersion: 1,
    datasources: [
      {
        name: "Prometheus",
        uid: PROMETHEUS_DATASOURCE.uid,
        type: PROMETHEUS_DATASOURCE.type,
        access: "proxy",
        // Grafana runs with host networking next to Prometheus.
        url: `http://${m.bindAddress === "0.0.0.0" ? "127.0.0.1" : m.bindAddress}:${m.ports.prometheus}`,
        isDefault: true,
        editable: false,
        jsonData: { timeInterval: `${m.scrapeIntervalSeconds}s` },
      },
    ],
  };
  const l = model.config.logging;
  // Its own file, so that `logging.enabled: false` leaves the Prometheus datasource untouched.
  const loki = l.enabled
    ? {
        apiVersion: 1,
        datasources: [
          {
            name: "Loki",
            uid: LOKI_DATASOURCE.uid,
            type: LOKI_DATASOURCE.type,
            access: "proxy",
            url: `http://${reachableAddress(l.bindAddress, loggingHost(model))}:${l.ports.loki}`,
            editable: false,
          },
        ],
      }
    : { apiVersion: 1, deleteDatasources: [{ name: "Loki", orgId: 1 }] };
  return {
    "provisioning/datasources/prometheus.yaml": header(model, "Grafana datasource") + YAML.stringify(prometheus),
    "provisioning/datasources/loki.yaml": header(model, "Grafana datasource") + YAML.stringify(loki),
  };
}

/** Everything under `grafana/`: datasources, the dashboard provider and the dashboards. */
export function renderGrafanaFiles(model: PlatformModel): Record<string, string> {
  const provider = {
    apiVersion: 1,
    providers: [
      {
        name: "jenkins-ha",
        orgId: 1,
        folder: "jenkins-ha",
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path: GRAFANA_DASHBOARDS_DIR },
      },
    ],
  };
  const json = (d: Dashboard) => `${JSON.stringify(d, null, 2)}\n`;
  return {
    ...renderDatasources(model),
    "provisioning/dashboards/jenkins-ha.yaml": header(model, "Grafana dashboard provider") + YAML.stringify(provider),
    "dashboards/overview.json": json(overviewDashboard(model)),
    ...Object.fromEntries(model.teams.map((team) => [`dashboards/team-${team.name}.json`, json(teamDashboard(model, team))])),
  };
}
