import { z } from "zod";

/**
 * `jenkins-ha:logging` — Loki (single binary) and Grafana Alloy (issue 6). Independent of
 * `monitoring`: `enabled: false` removes Loki and Alloy and leaves Prometheus untouched
 * (the seed's rollback step "disable Loki, keep Prometheus").
 */
export const loggingSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Host that runs Loki; default: the monitoring host. Alloy runs on every Docker host. */
    host: z.string().optional(),
    /** Address Loki listens on. Loopback is enough for one host; with more hosts use one their Alloys can reach. */
    bindAddress: z.string().default("127.0.0.1"),
    /** Host directory the rendered Loki / Alloy config is written to. */
    configDir: z.string().default("/var/lib/jenkins-ha/logging"),
    images: z
      .object({
        loki: z.string().default("grafana/loki:3.5.1"),
        alloy: z.string().default("grafana/alloy:v1.9.1"),
      })
      .strict()
      .default({ loki: "grafana/loki:3.5.1", alloy: "grafana/alloy:v1.9.1" }),
    ports: z
      .object({
        loki: z.number().int().min(1024).max(65535).default(3100),
        lokiGrpc: z.number().int().min(1024).max(65535).default(9096),
        alloy: z.number().int().min(1024).max(65535).default(12345),
      })
      .strict()
      .default({ loki: 3100, lokiGrpc: 9096, alloy: 12345 }),
    /** Loki deletes log lines older than this (compactor retention). */
    retentionDays: z.number().int().positive().default(14),
    /** System log files of the Jenkins controllers on each host (`jenkins-<team>-<colour>` in the name gives the labels). */
    systemLogPaths: z.array(z.string().startsWith("/var/log/")).default(["/var/log/jenkins-*.log", "/var/log/jenkins-*/*.log"]),
  })
  .strict();

export type LoggingConfig = z.infer<typeof loggingSchema>;
