import { Colour } from "../../config/schema";

/**
 * What the switch orchestrator needs from the outside world, as small interfaces. The
 * real implementations sit in `automation/coordination`, `automation/backup`,
 * `automation/traffic` and `automation/switch/local-workspace.ts`; decisions stay in the
 * orchestrator and in pure modules.
 */

/** A held lease: the fencing token only grows, and every guarded write presents it. */
export interface HeldLease {
  name: string;
  holder: string;
  token: number;
  expiresAt: Date;
}

export interface BudgetProof {
  allowed: boolean;
  /** Why not, and when it will be allowed (set when `allowed` is false). */
  reason?: string;
  allowedAt?: Date;
  switchesLastHour: number;
  switchesLastDay: number;
  lastSwitchAt?: Date;
}

export type SwitchPhase = "preflight" | "stage" | "shift" | "commit" | "rollback";
export type SwitchOutcome = "completed" | "rolled_back" | "refused" | "failed";

/** A switch in flight, as the journal keeps it (survives the orchestrator being killed). */
export interface SwitchJournalEntry {
  id: string;
  team: string;
  from: Colour;
  to: Colour;
  actor: string;
  reason: string;
  mode: "safe" | "force" | "rollback" | "auto-heal";
  phase: SwitchPhase;
  /** Last weights the orchestrator set (target %), so a recovery knows what HAProxy holds. */
  targetPercent: number;
  committed: boolean;
  startedAt: Date;
  /** Fencing token of the lease the switch ran under. */
  token: number;
  emergencyStop: boolean;
}

export interface AuditEntry {
  operation: "switch" | "rollback" | "emergency_stop" | "recovery";
  team: string;
  actor: string;
  reason: string;
  from?: Colour;
  to?: Colour;
  outcome: SwitchOutcome | "requested";
  startedAt: Date;
  finishedAt: Date;
  metadata: Record<string, unknown>;
}

export interface SwitchCoordination {
  acquireLease(name: string, holder: string, ttlSeconds: number): Promise<HeldLease>;
  renewLease(lease: HeldLease, ttlSeconds: number): Promise<HeldLease>;
  releaseLease(lease: HeldLease): Promise<void>;
  /** Throws unless `lease` still holds the newest token for its name. */
  assertFencing(lease: HeldLease): Promise<void>;
  checkBudget(team: string, now: Date): Promise<BudgetProof>;
  audit(entry: AuditEntry): Promise<void>;
  journalBegin(entry: SwitchJournalEntry): Promise<void>;
  journalUpdate(id: string, change: Partial<Pick<SwitchJournalEntry, "phase" | "targetPercent" | "committed" | "token">>): Promise<void>;
  journalFinish(id: string, outcome: SwitchOutcome): Promise<void>;
  /** Unfinished switches of a team (at most one when the lease works). */
  journalOpen(team?: string): Promise<SwitchJournalEntry[]>;
  /** Asks running switches to stop (all teams when none given). */
  requestEmergencyStop(team?: string): Promise<number>;
}

export interface BackupPort {
  /** A fresh critical-data backup of the colour's home, verified; never with master.key inside. */
  runAndVerify(team: string, colour: Colour): Promise<{ id: string; verifiedAt: Date }>;
  /** Critical data from one colour's home to the other's, after quieting the source. */
  sync(team: string, from: Colour, to: Colour): Promise<{ buildsWereRunning: boolean }>;
}

export interface HealthPort {
  /** Resolves when the colour answers `/login` and its container health is green. */
  waitHealthy(team: string, colour: Colour, url: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
  /** One direct probe (bypassing HAProxy), for SLI sampling. */
  probe(url: string, timeoutMs: number): Promise<{ ok: boolean; latencyMs: number }>;
}

export interface TrafficPort {
  setTargetPercent(backend: string, source: Colour, target: Colour, percent: number): Promise<void>;
  readServer(backend: string, server: Colour): Promise<import("../traffic/haproxy-runtime").StatRow>;
  /**
   * Puts both servers back on their configured weights. After a rollback the config is
   * unchanged, so a reload keeps the runtime weights (server-state file): without this the
   * standby would stay at weight 0 and no longer take over when the active colour dies.
   */
  restoreConfiguredWeights(backend: string): Promise<void>;
}

/** Progress for people (one line per step) and Jenkins (`--json`: one JSON object per line). */
export interface ProgressEvent {
  team: string;
  step: string;
  message: string;
  percent?: number;
  sli?: Record<string, number>;
  breaches?: string[];
}
export type Progress = (event: ProgressEvent) => void;
