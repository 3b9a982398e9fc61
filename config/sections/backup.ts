import { z } from "zod";

/** `jenkins-ha:backup` — critical-data backups to NFS (issue: backups). */
export const backupSchema = z
  .object({
    mode: z.enum(["critical", "full"]).default("critical"),
    schedule: z.string().default("0 2 * * *"),
    retentionDays: z.number().int().positive().default(30),
  })
  .strict();

/** `teams.<team>.backup` — per-team overrides. */
export const teamBackupSchema = z
  .object({
    schedule: z.string().optional(),
  })
  .strict();

export type BackupConfig = z.infer<typeof backupSchema>;
export type TeamBackupConfig = z.infer<typeof teamBackupSchema>;
