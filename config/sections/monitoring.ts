import { z } from "zod";

/** `jenkins-ha:monitoring` — Prometheus, Alertmanager, Grafana, Loki (issue: monitoring). */
export const monitoringSchema = z
  .object({
    enabled: z.boolean().default(true),
    host: z.string().optional(),
  })
  .strict();

export type MonitoringConfig = z.infer<typeof monitoringSchema>;
