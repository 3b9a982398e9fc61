import { z } from "zod";

const port = z.number().int().min(1024).max(65535);
/** Alert `for:` windows, in minutes (rendered as Prometheus durations). */
const minutes = z.number().int().positive();

/** Seed thresholds: the same values the switch gates use (`switch.sli`). */
export const alertThresholdsSchema = z
  .object({
    /** SLI: 5xx answers / requests through HAProxy over 5 minutes. */
    maxErrorRate: z.number().min(0).max(1).default(0.02),
    /** SLI: p95 response time through HAProxy, in ms. */
    maxP95Ms: z.number().positive().default(2000),
    /** SLI: 1 - (5xx + connection and response errors) / requests over 5 minutes. */
    minAvailability: z.number().min(0).max(1).default(0.995),
    /** JVM heap used / max of the active controller. */
    maxHeapRatio: z.number().min(0).max(1).default(0.8),
    /** Free / capacity of the file stores Jenkins uses (its home volume). */
    minDiskFreeRatio: z.number().min(0).max(1).default(0.1),
    /** Jenkins Metrics plugin health-check score (1 = every check passes). */
    minHealthScore: z.number().min(0).max(1).default(1),
    /** Agents offline tolerated before "executors offline" fires. */
    maxOfflineNodes: z.number().int().nonnegative().default(0),
    /** Share of teams whose active controller is down that counts as a platform-wide outage. */
    platformOutageRatio: z.number().min(0).max(1).default(0.5),
  })
  .strict();

export const alertForSchema = z
  .object({
    downMinutes: minutes.default(2),
    sliMinutes: minutes.default(5),
    healthScoreMinutes: minutes.default(5),
    queueStuckMinutes: minutes.default(15),
    executorsOfflineMinutes: minutes.default(15),
    heapMinutes: minutes.default(10),
    diskMinutes: minutes.default(10),
    platformMinutes: minutes.default(2),
  })
  .strict();

export const alertRoutingSchema = z
  .object({
    /** Extra webhook per team (chat, pager); every team route also notifies the healer. */
    teamWebhooks: z.record(z.string(), z.string().url()).default({}),
    /** Webhook for platform-wide alerts (HAProxy down, host down, platform outage). */
    platformWebhookUrl: z.string().url().optional(),
    groupWaitSeconds: z.number().int().nonnegative().default(30),
    groupIntervalMinutes: z.number().int().positive().default(5),
    repeatIntervalHours: z.number().int().positive().default(4),
  })
  .strict();

export const grafanaSchema = z
  .object({
    adminUser: z.string().min(1).default("admin"),
    /** Public URL of Grafana (links in alerts); default http://<bindAddress>:<ports.grafana>. */
    rootUrl: z.string().url().optional(),
    /** Dashboard auto-refresh. */
    refresh: z.string().regex(/^\d+[smh]$/).default("30s"),
    allowSignUp: z.boolean().default(false),
  })
  .strict();

/** `jenkins-ha:monitoring` — Prometheus, Alertmanager, Grafana, node exporters (issue 6). */
export const monitoringSchema = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * Host that runs Prometheus, Alertmanager and Grafana. Default: the HAProxy host, because
     * HAProxy's exporter listens on loopback there (`platform.haproxy.statsBindAddress`).
     */
    host: z.string().optional(),
    /** Address Prometheus, Alertmanager and Grafana listen on; loopback unless you put auth in front. */
    bindAddress: z.string().default("127.0.0.1"),
    /** Host directory the rendered config files are written to (bind-mounted read-only). */
    configDir: z.string().default("/var/lib/jenkins-ha/monitoring"),
    /** Host directory node exporter's textfile collector reads (backup and switch jobs write `*.prom` here). */
    textfileDir: z.string().default("/var/lib/jenkins-ha/node-exporter"),
    images: z
      .object({
        prometheus: z.string().default("prom/prometheus:v2.53.4"),
        alertmanager: z.string().default("prom/alertmanager:v0.28.1"),
        grafana: z.string().default("grafana/grafana:11.6.1"),
        nodeExporter: z.string().default("prom/node-exporter:v1.9.1"),
      })
      .strict()
      .default({
        prometheus: "prom/prometheus:v2.53.4",
        alertmanager: "prom/alertmanager:v0.28.1",
        grafana: "grafana/grafana:11.6.1",
        nodeExporter: "prom/node-exporter:v1.9.1",
      }),
    ports: z
      .object({
        prometheus: port.default(9090),
        alertmanager: port.default(9093),
        grafana: port.default(3000),
        nodeExporter: port.default(9100),
      })
      .strict()
      .default({ prometheus: 9090, alertmanager: 9093, grafana: 3000, nodeExporter: 9100 }),
    scrapeIntervalSeconds: z.number().int().positive().default(15),
    evaluationIntervalSeconds: z.number().int().positive().default(15),
    retentionDays: z.number().int().positive().default(15),
    thresholds: alertThresholdsSchema.default(() => alertThresholdsSchema.parse({})),
    alertFor: alertForSchema.default(() => alertForSchema.parse({})),
    /**
     * Where Alertmanager sends every alert for the healer. Default:
     * `http://<healing host address>:<healing.port>/alertmanager`.
     */
    healerWebhookUrl: z.string().url().optional(),
    routing: alertRoutingSchema.default(() => alertRoutingSchema.parse({})),
    grafana: grafanaSchema.default(() => grafanaSchema.parse({})),
  })
  .strict();

export type MonitoringConfig = z.infer<typeof monitoringSchema>;
export type AlertThresholds = z.infer<typeof alertThresholdsSchema>;
export type AlertFor = z.infer<typeof alertForSchema>;
