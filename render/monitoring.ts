import { PlatformModel } from "../config/model";
import { renderAlertmanagerConfig } from "./alertmanager";
import { renderAlloyFiles } from "./alloy";
import { renderRuleFiles } from "./alert-rules";
import { renderGrafanaFiles } from "./grafana";
import { renderLokiConfig } from "./loki";
import { platformHosts } from "./monitoring-targets";
import { RULES_DIR, renderPrometheusFiles } from "./prometheus";

function under(dir: string, files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([file, text]) => [`${dir}/${file}`, text]));
}

/** Files of the monitoring stack (Prometheus, Alertmanager, Grafana), by path relative to the render dir. */
export function renderMonitoringStackFiles(model: PlatformModel): Record<string, string> {
  if (!model.config.monitoring.enabled) return {};
  return {
    ...under("prometheus", renderPrometheusFiles(model)),
    ...under(`prometheus/${RULES_DIR}`, renderRuleFiles(model)),
    "alertmanager/alertmanager.yml": renderAlertmanagerConfig(model),
    ...under("grafana", renderGrafanaFiles(model)),
  };
}

/** Files of the logging stack (Loki, one Alloy config per host). Empty when `logging.enabled` is false. */
export function renderLoggingFiles(model: PlatformModel): Record<string, string> {
  if (!model.config.logging.enabled) return {};
  return {
    "loki/loki.yaml": renderLokiConfig(model),
    ...under("alloy", renderAlloyFiles(model, platformHosts(model))),
  };
}

/**
 * Every monitoring and logging file, by path relative to the render output dir:
 * `prometheus/prometheus.yml`, `prometheus/file_sd/<team>.json`, `prometheus/rules/*.yml`,
 * `alertmanager/alertmanager.yml`, `grafana/provisioning/...`, `grafana/dashboards/*.json`,
 * `loki/loki.yaml`, `alloy/<host>/config.alloy`. Pure and deterministic.
 */
export function renderMonitoringFiles(model: PlatformModel): Record<string, string> {
  return { ...renderMonitoringStackFiles(model), ...renderLoggingFiles(model) };
}
