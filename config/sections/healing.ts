import { z } from "zod";

/** `teams.<team>.healing` — per-team auto-healing policy (issue: auto-healing). */
export const teamHealingSchema = z
  .object({
    mode: z.enum(["off", "monitor", "on"]).default("monitor"),
  })
  .strict();

export type TeamHealingConfig = z.infer<typeof teamHealingSchema>;
