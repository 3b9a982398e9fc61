import * as path from "path";
import { PlatformModel } from "../../config/model";
import { Colour } from "../../config/schema";
import { FileBackupPort } from "../backup/port";
import { budgetLimitsFrom } from "../coordination/budget";
import { Database } from "../coordination/db";
import { PgCoordination } from "../coordination/store";
import { HaproxyRuntime } from "../traffic/haproxy-runtime";
import { HaproxyTraffic } from "../traffic/haproxy-traffic";
import { HttpHealth } from "./health";
import { SwitchOrchestrator } from "./orchestrator";
import { BackupPort, HealthPort, Progress, TrafficPort } from "./ports";
import { StackOperations } from "./stack-operations";

/** The admin socket of HAProxy on the host it runs on (never published). */
export function adminSocketPath(model: PlatformModel): string {
  return path.join(model.config.platform.haproxy.runtimeDir, "admin.sock");
}

/** Backend name and direct URLs of both colours of a team, from the validated model. */
export function teamInfoFrom(model: PlatformModel) {
  return async (team: string): Promise<{ backend: string; urls: Record<Colour, string> }> => {
    const t = model.teams.find((x) => x.name === team);
    if (!t) throw new Error(`unknown team '${team}'`);
    return { backend: t.backendName, urls: { blue: t.colours.blue.url, green: t.colours.green.url } };
  };
}

export interface OrchestratorWiring {
  model: PlatformModel;
  stack: StackOperations;
  database: Database;
  progress: Progress;
  signal?: AbortSignal;
  /** Defaults: real backups (FileBackupPort), HTTP health, the HAProxy admin socket. */
  backup?: BackupPort;
  health?: HealthPort;
  traffic?: TrafficPort;
  actor?: string;
}

/**
 * The switch orchestrator with its real collaborators: the coordination store on
 * PostgreSQL (limits from `jenkins-ha:switch`), critical-data backups, HTTP health checks
 * and the HAProxy runtime API. What the CLI, the Jenkins jobs and the healer run.
 */
export function wireOrchestrator(w: OrchestratorWiring): { orchestrator: SwitchOrchestrator; coordination: PgCoordination } {
  const coordination = new PgCoordination(w.database, budgetLimitsFrom(w.model.config.switch));
  const orchestrator = new SwitchOrchestrator({
    stack: w.stack,
    coordination,
    backup: w.backup ?? new FileBackupPort({ model: w.model, audit: coordination.auditLog, actor: w.actor }),
    health: w.health ?? new HttpHealth(),
    traffic: w.traffic ?? new HaproxyTraffic(new HaproxyRuntime(adminSocketPath(w.model))),
    settings: w.model.config.switch,
    teamInfo: teamInfoFrom(w.model),
    progress: w.progress,
    signal: w.signal,
  });
  return { orchestrator, coordination };
}
