import { z } from "zod";

export const HEAL_ACTIONS = ["restart_container", "switch_environment", "escalate_human"] as const;
export type HealAction = (typeof HEAL_ACTIONS)[number];

/** `teams.<team>.healing` — per-team auto-healing policy (seed defaults). */
export const teamHealingSchema = z
  .object({
    /** `off`: not watched; `monitor`: decisions logged and audited, nothing done (pilot); `on`: acts. */
    mode: z.enum(["off", "monitor", "on"]).default("monitor"),
    intervalSeconds: z.number().int().positive().default(120),
    /** Consecutive failed checks before the first action; a single failure never acts. */
    failureThreshold: z.number().int().min(2).default(3),
    actions: z.array(z.enum(HEAL_ACTIONS)).min(1).default([...HEAL_ACTIONS]),
    /** Seconds to wait after a restart before judging whether it helped. */
    recoveryWaitSeconds: z.number().int().positive().default(180),
    /** Escalate after this many actions within `actionWindowMinutes`, whatever the ladder says. */
    maxActions: z.number().int().positive().default(3),
    actionWindowMinutes: z.number().int().positive().default(60),
    /** Key of the Jenkins Metrics plugin, to also probe `/metrics/<key>/healthcheck`. */
    metricsKey: z.string().optional(),
  })
  .strict();

/** `jenkins-ha:healing` — platform-wide healer settings. */
export const healingSchema = z
  .object({
    /** Where escalations go (Alertmanager webhook or any JSON webhook). */
    escalationWebhookUrl: z.string().url().optional(),
    /** Port the healer serves /metrics and the Alertmanager webhook on. */
    port: z.number().int().min(1024).max(65535).default(9095),
    host: z.string().optional(),
  })
  .strict();

export type TeamHealingConfig = z.infer<typeof teamHealingSchema>;
export type HealingConfig = z.infer<typeof healingSchema>;
export const DEFAULT_TEAM_HEALING: TeamHealingConfig = teamHealingSchema.parse({});
