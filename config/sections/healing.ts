import { z } from "zod";

/** How the healer's switch rung switches (`healing.switchVia`). */
export const SWITCH_VIA = ["queue", "orchestrator", "escalate"] as const;
export type SwitchVia = (typeof SWITCH_VIA)[number];

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
    /**
     * How the ladder's switch rung switches. `queue`: ask a switch worker through the
     * coordination DB (the Infrastructure/Auto-Heal-Switch job, which has the Pulumi
     * workspace) — what the deployed healer container does; `orchestrator`: run the switch
     * orchestrator inside the healer (needs the Pulumi CLI, backend and passphrase where it
     * runs); `escalate`: never switch, escalate instead.
     */
    switchVia: z.enum(SWITCH_VIA).default("queue"),
    /** A queued switch no worker claimed within this many seconds is voided, and the healer escalates. */
    switchClaimSeconds: z.number().int().min(10).max(3600).default(300),
    /** A claimed switch whose worker has not reported for this many seconds counts as failed (the worker was killed; it reports every 10 s). */
    switchStaleSeconds: z.number().int().min(30).max(3600).default(90),
  })
  .strict();

export type TeamHealingConfig = z.infer<typeof teamHealingSchema>;
export type HealingConfig = z.infer<typeof healingSchema>;
export const DEFAULT_TEAM_HEALING: TeamHealingConfig = teamHealingSchema.parse({});
