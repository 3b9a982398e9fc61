import { z } from "zod";

/** `jenkins-ha:switch` — progressive traffic shift and its SLI gates (issue: switch orchestrator). */
export const switchSchema = z
  .object({
    steps: z.array(z.number().int().min(1).max(100)).default([5, 10, 25, 50, 100]),
    holdSeconds: z.number().int().nonnegative().default(60),
    maxSwitchesPerHour: z.number().int().positive().default(2),
    maxSwitchesPerDay: z.number().int().positive().default(5),
    cooldownMinutes: z.number().int().nonnegative().default(30),
  })
  .strict();

/**
 * `teams.<team>.switchRecord` — the proof a switch carries (written by the orchestrator,
 * checked by the policy pack).
 */
export const switchRecordSchema = z
  .object({
    id: z.string().min(1),
    requestedBy: z.string().min(1),
    reason: z.string().min(1),
    from: z.enum(["blue", "green"]),
    to: z.enum(["blue", "green"]),
    backupId: z.string().min(1),
    backupVerifiedAt: z.string().min(1),
    requestedAt: z.string().min(1),
  })
  .strict();

export type SwitchConfig = z.infer<typeof switchSchema>;
export type SwitchRecord = z.infer<typeof switchRecordSchema>;
