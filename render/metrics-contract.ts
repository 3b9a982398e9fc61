/**
 * The metrics the rules and dashboards read, by who provides them. Tests check every
 * panel and rule against this list (and the HAProxy list against the real exporter), so a
 * dashboard cannot silently query a metric nothing scrapes.
 */

/** Jenkins Prometheus plugin (`/prometheus/`), including the Metrics plugin gauges it re-exports. */
export const JENKINS_METRICS = [
  "default_jenkins_up",
  "default_jenkins_executors_online",
  "default_jenkins_executors_busy",
  "default_jenkins_executors_queue_length",
  "default_jenkins_file_store_available_bytes",
  "default_jenkins_file_store_capacity_bytes",
  "jenkins_health_check_score",
  "jenkins_queue_size_value",
  "jenkins_queue_stuck_value",
  "jenkins_node_offline_value",
  "vm_memory_heap_usage",
] as const;

/** HAProxy's built-in exporter (2.6+), `proxy`/`server` labels; `team`/`environment` added at scrape. */
export const HAPROXY_METRICS = [
  "haproxy_backend_http_requests_total",
  "haproxy_backend_http_responses_total",
  "haproxy_backend_connection_errors_total",
  "haproxy_backend_response_errors_total",
  "haproxy_backend_response_time_average_seconds",
  "haproxy_backend_active_servers",
  "haproxy_server_status",
  "haproxy_server_weight",
] as const;

/**
 * Written as `*.prom` files to `monitoring.textfileDir` on each host and exposed by node
 * exporter's textfile collector: the backup job and the switch orchestrator run as Jenkins
 * jobs, not servers, so they cannot be scraped themselves.
 */
export const TEXTFILE_METRICS = [
  /** `{team}` unix time of the last verified backup. */
  "jenkins_ha_backup_last_success_timestamp_seconds",
  /** `{team, environment}` unix time of the last committed switch, `environment` = the new active colour. */
  "jenkins_ha_switch_last_timestamp_seconds",
] as const;

/** The healer's `/metrics` (`healing.port`). */
export const HEALER_METRICS = [
  /** `{team, action}` counter of actions taken (restart_container, switch_environment, escalate_human). */
  "jenkins_ha_heal_actions_total",
] as const;

/** Synthesised by Prometheus for every scrape target. */
export const SCRAPE_METRICS = ["up", "scrape_duration_seconds"] as const;

export const PROVIDED_METRICS: readonly string[] = [
  ...JENKINS_METRICS,
  ...HAPROXY_METRICS,
  ...TEXTFILE_METRICS,
  ...HEALER_METRICS,
  ...SCRAPE_METRICS,
];
