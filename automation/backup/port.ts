import * as path from "path";
import { otherColour, PlatformModel, TeamModel } from "../../config/model";
import { Colour } from "../../config/schema";
import { BackupPort } from "../switch/ports";
import { AuditRecorder } from "./audit";
import { selectionFor } from "./critical-set";
import { BackupError, VerificationFailed } from "./errors";
import { writeBackupMetrics, metricsFileName } from "./metrics";
import { volumeHomePath } from "./paths";
import { runBackup } from "./run";
import { TeamStore } from "./store";
import { syncHomes } from "./sync";
import { verifyBackup } from "./verify";

export interface FileBackupPortOptions {
  model: PlatformModel;
  /** Store root; default `backup.nfsPath`. */
  storeRoot?: string;
  /** A colour's JENKINS_HOME; default its docker volume's data dir (paths.ts). */
  homeFor?: (team: string, colour: Colour) => string;
  /** The source controller's URL for quiet-down; default the colour's direct URL (bypassing HAProxy). */
  urlFor?: (team: string, colour: Colour) => string | undefined;
  sourceAuth?: string;
  /** Textfile dir for the backup-age metrics; default `backup.metricsTextfileDir` (none when unset). */
  metricsDir?: string;
  audit?: AuditRecorder;
  actor?: string;
}

/**
 * The switch orchestrator's BackupPort on real files: a critical-data backup of the active
 * home into the store followed by its verification, and the pre-switch sync.
 */
export class FileBackupPort implements BackupPort {
  constructor(private readonly options: FileBackupPortOptions) {}

  private team(name: string): TeamModel {
    const team = this.options.model.teams.find((t) => t.name === name);
    if (!team) throw new BackupError(`unknown team '${name}' — teams in stack '${this.options.model.stack}': ${this.options.model.teams.map((t) => t.name).join(", ")}`);
    return team;
  }

  private store(team: string): TeamStore {
    return new TeamStore(this.options.storeRoot ?? this.options.model.config.backup.nfsPath, team);
  }

  private home(team: string, colour: Colour): string {
    return this.options.homeFor?.(team, colour) ?? volumeHomePath(team, colour);
  }

  async runAndVerify(team: string, colour: Colour): Promise<{ id: string; verifiedAt: Date }> {
    this.team(team);
    const store = this.store(team);
    const { backup } = this.options.model.config;
    const run = await runBackup({ team, colour, home: this.home(team, colour), store, selection: selectionFor(backup), audit: this.options.audit, actor: this.options.actor, reason: "pre-switch backup" });
    const verified = await verifyBackup({ store, id: run.id, audit: this.options.audit, actor: this.options.actor });
    const metricsDir = this.options.metricsDir ?? backup.metricsTextfileDir;
    if (metricsDir) writeBackupMetrics(store, path.join(metricsDir, metricsFileName(team)));
    if (!verified.ok) throw new VerificationFailed(`backup ${run.id} of ${team} failed verification: ${verified.problems.join("; ")} — the switch must not proceed; check the store and rerun`, verified.problems);
    return { id: run.id, verifiedAt: new Date(verified.verifiedAt) };
  }

  async sync(team: string, from: Colour, to: Colour): Promise<{ buildsWereRunning: boolean }> {
    const model = this.team(team);
    if (to !== otherColour(from)) throw new BackupError(`sync ${from}->${to}: the target must be the other colour`);
    const store = this.store(team);
    store.ensure();
    const result = await syncHomes({
      team,
      from,
      to,
      fromHome: this.home(team, from),
      toHome: this.home(team, to),
      selection: selectionFor(this.options.model.config.backup),
      lockFile: path.join(store.dir, ".lock"),
      sourceUrl: this.options.urlFor ? this.options.urlFor(team, from) : model.colours[from].url,
      sourceAuth: this.options.sourceAuth,
      audit: this.options.audit,
      actor: this.options.actor,
      reason: "pre-switch sync",
    });
    return { buildsWereRunning: result.buildsWereRunning };
  }
}
