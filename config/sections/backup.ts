import { z } from "zod";
import { cronProblem } from "../cron";

/**
 * What counts as critical data in `critical` mode, relative to JENKINS_HOME (Jenkins'
 * backup guidance): the top-level XML config, job definitions (not their builds,
 * workspaces or nextBuildNumber), users, nodes, secrets (except master.key, which is
 * always kept apart whatever these lists say), userContent and the JCasC files. The
 * plugin list (names + versions) is recorded in the backup metadata, not the plugin dirs.
 * `**` matches any number of path segments, `*` and `?` stay inside one segment.
 */
export const DEFAULT_BACKUP_INCLUDE = [
  "*.xml",
  "jobs/**/config.xml",
  "users/**",
  "nodes/**",
  "secrets/**",
  "userContent/**",
  "casc_configs/**",
  "jenkins.yaml",
] as const;

export const DEFAULT_BACKUP_EXCLUDE = [
  "secrets/master.key",
  "jobs/**/builds/**",
  "jobs/**/workspace/**",
  "jobs/**/nextBuildNumber",
] as const;

const cron = z.string().superRefine((value, ctx) => {
  const problem = cronProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: `bad cron schedule: ${problem}` });
});

/** `jenkins-ha:backup` — critical-data backups to NFS (issue: backups). */
export const backupSchema = z
  .object({
    /** `critical` (default): the include/exclude lists; `full` (rollback path): the whole home except workspaces. */
    mode: z.enum(["critical", "full"]).default("critical"),
    /** 5-field cron, UTC. */
    schedule: cron.default("0 2 * * *"),
    /** Backups older than this are pruned, except the newest verified one. */
    retentionDays: z.number().int().positive().default(30),
    /** Where the backup store is mounted on the machine running the CLI (per team: `<nfsPath>/<team>`). */
    nfsPath: z.string().default("/mnt/jenkins-backups"),
    /** NFS server of the store; when absent, `nfsPath` on each host is bind-mounted instead. */
    nfs: z.object({ server: z.string().min(1), export: z.string().min(1) }).strict().optional(),
    include: z.array(z.string().min(1)).default([...DEFAULT_BACKUP_INCLUDE]),
    exclude: z.array(z.string().min(1)).default([...DEFAULT_BACKUP_EXCLUDE]),
    /** node-exporter textfile dir for the backup-age metrics; default `monitoring.textfileDir`. */
    metricsTextfileDir: z.string().optional(),
    /** Image of the scheduled backup container; default: the jenkins-ha CLI image built from this repository. */
    image: z.string().optional(),
  })
  .strict();

/** `teams.<team>.backup` — per-team overrides. */
export const teamBackupSchema = z
  .object({
    schedule: cron.optional(),
  })
  .strict();

export type BackupConfig = z.infer<typeof backupSchema>;
export type TeamBackupConfig = z.infer<typeof teamBackupSchema>;
