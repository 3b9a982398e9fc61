import type { AuditRecord } from "../coordination/audit";

/**
 * Where backup operations are recorded when the coordination database is available
 * (`AuditLog` satisfies it). Optional everywhere: a DR drill on plain directories has no
 * database, and a backup must not fail because the audit is down — the failure to record
 * is reported in the result instead.
 */
export interface AuditRecorder {
  record(entry: AuditRecord): Promise<void>;
}

/** Operation names in `deployment_audit.operation` (free text there; `heal:*` is the healer's). */
export type BackupOperation = "backup:run" | "backup:verify" | "backup:restore" | "backup:sync" | "backup:prune";

export async function recordAudit(
  recorder: AuditRecorder | undefined,
  entry: { operation: BackupOperation; team: string; actor?: string; reason?: string; outcome: string; startedAt: Date; finishedAt: Date; metadata: Record<string, unknown>; from?: "blue" | "green"; to?: "blue" | "green" },
): Promise<string | undefined> {
  if (!recorder) return undefined;
  try {
    await recorder.record({ ...entry, actor: entry.actor ?? defaultActor(), reason: entry.reason ?? "" });
    return undefined;
  } catch (err) {
    return `audit not recorded: ${(err as Error).message}`;
  }
}

export function defaultActor(): string {
  return process.env.JENKINS_HA_ACTOR ?? process.env.BUILD_USER_ID ?? process.env.USER ?? "jenkins-ha";
}
