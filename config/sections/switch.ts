import { z } from "zod";

/** `jenkins-ha:switch` — progressive traffic shift and its SLI gates (issue: switch orchestrator). */
export const switchSchema = z
  .object({
    steps: z.array(z.number().int().min(1).max(100)).default([5, 10, 25, 50, 100]),
    holdSeconds: z.number().int().nonnegative().default(60),
    maxSwitchesPerHour: z.number().int().positive().default(2),
    maxSwitchesPerDay: z.number().int().positive().default(5),
    cooldownMinutes: z.number().int().nonnegative().default(30),
    /** Failure breaker: this many failed switches within `breakerWindowMinutes`... */
    breakerFailures: z.number().int().positive().default(3),
    breakerWindowMinutes: z.number().int().positive().default(10),
    /** ...refuse further switches of the team for this long after the last failure. */
    breakerOpenMinutes: z.number().int().nonnegative().default(30),
    /** SLI gates read at every shift step; a breach rolls traffic back at once. */
    sli: z
      .object({
        maxErrorRate: z.number().min(0).max(1).default(0.02),
        maxP95Ms: z.number().positive().default(2000),
        minAvailability: z.number().min(0).max(1).default(0.995),
        /** Synthetic requests per second sent to the target during each hold (so a step always has data). */
        probesPerSecond: z.number().positive().default(2),
      })
      .strict()
      .default({ maxErrorRate: 0.02, maxP95Ms: 2000, minAvailability: 0.995, probesPerSecond: 2 }),
    /** How long the staged target may take to answer /login and report healthy. */
    healthTimeoutSeconds: z.number().int().positive().default(600),
    /** Lease TTL for the team lock; renewed while the switch runs. */
    leaseTtlSeconds: z.number().int().positive().default(120),
    /**
     * How long a switch waits for the stack lease (another team's switch updating the same
     * stack) before it gives up; stack updates are serialised, the traffic shifts are not.
     */
    stackLockWaitSeconds: z.number().int().positive().default(900),
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
    /**
     * How the orchestrator ran the switch. `force` (on-call, audited) and `rollback` are
     * exempt from the switch budget, never from the record or the backup.
     */
    mode: z.enum(["safe", "force", "rollback", "auto-heal"]).optional(),
    /** Same exemption as `mode: force`, for writers that only know a flag. */
    forced: z.boolean().optional(),
    // The budget proof, read from the coordination DB's audit table at pre-flight (not
    // counting this switch); the policy pack checks it against its own limits.
    switchesLastHour: z.number().int().nonnegative().optional(),
    switchesLastDay: z.number().int().nonnegative().optional(),
    /** ISO time of the last completed switch of the team; absent when there was none. */
    lastSwitchAt: z.string().min(1).optional(),
  })
  .strict();

export type SwitchConfig = z.infer<typeof switchSchema>;
export type SwitchRecord = z.infer<typeof switchRecordSchema>;
