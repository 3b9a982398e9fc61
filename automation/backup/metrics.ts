import * as fs from "fs";
import * as path from "path";
import { BackupMetadata, VerificationRecord } from "./manifest";
import { TeamStore } from "./store";

/**
 * The backup-age metrics, as a node-exporter textfile (`*.prom`, written atomically because
 * the collector may read at any moment). Derived from the store each time, so whichever
 * command writes it (run, verify, prune, the schedule) the file is complete:
 *
 *   jenkins_ha_backup_last_success_timestamp_seconds{team}   creation time of the newest
 *       backup that passed verification (the name and meaning render/metrics-contract.ts,
 *       the dashboards and the alert rules use: "last verified backup")
 *   jenkins_ha_backup_last_verified_timestamp_seconds{team}  when a verification last passed
 *
 * A team with no good backup gets no sample, so `absent()` alerts fire for it.
 */

export const LAST_SUCCESS = "jenkins_ha_backup_last_success_timestamp_seconds";
export const LAST_VERIFIED = "jenkins_ha_backup_last_verified_timestamp_seconds";

export function metricsFileName(team: string): string {
  return `jenkins_ha_backup_${team}.prom`;
}

export function renderBackupMetrics(store: TeamStore): string {
  let success: number | undefined;
  let verified: number | undefined;
  for (const id of store.listIds()) {
    const dir = store.snapshotDir(id);
    let record: VerificationRecord;
    let metadata: BackupMetadata;
    try {
      record = JSON.parse(fs.readFileSync(path.join(dir, "verified.json"), "utf8")) as VerificationRecord;
      metadata = JSON.parse(fs.readFileSync(path.join(dir, "metadata.json"), "utf8")) as BackupMetadata;
    } catch {
      continue;
    }
    if (!record.ok) continue;
    success = Math.max(success ?? 0, Date.parse(metadata.createdAt) / 1000);
    verified = Math.max(verified ?? 0, Date.parse(record.verifiedAt) / 1000);
  }
  const label = `{team="${store.team}"}`;
  const lines = [
    `# HELP ${LAST_SUCCESS} Unix time the newest verified backup of the team was taken.`,
    `# TYPE ${LAST_SUCCESS} gauge`,
    ...(success === undefined ? [] : [`${LAST_SUCCESS}${label} ${success.toFixed(3)}`]),
    `# HELP ${LAST_VERIFIED} Unix time a backup of the team last passed verification.`,
    `# TYPE ${LAST_VERIFIED} gauge`,
    ...(verified === undefined ? [] : [`${LAST_VERIFIED}${label} ${verified.toFixed(3)}`]),
  ];
  return lines.join("\n") + "\n";
}

export function writeBackupMetrics(store: TeamStore, file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  // node-exporter ignores files not ending in .prom, so the temp name is never read half-written.
  fs.writeFileSync(tmp, renderBackupMetrics(store), { mode: 0o644 });
  fs.renameSync(tmp, file);
}
