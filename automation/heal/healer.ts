import { Colour } from "../../config/schema";
import { TeamHealingConfig } from "../../config/sections/healing";
import { HealthEvidence, HealthVerdict, judge } from "../health/verdict";
import { EffectiveMode, INITIAL_LADDER_STATE, LadderDecision, LadderState, decide, escalated, resumed } from "./ladder";

/** One team as the healer watches it. */
export interface WatchedTeam {
  name: string;
  policy: TeamHealingConfig;
}

/** Where the team is now (read each round: a switch may have changed it). */
export interface TeamPlacement {
  active: Colour;
  standby: Colour;
  activeUrl: string;
  containerName: string;
  backend: string;
}

export interface HealerCoordination {
  /** Throws CoordinationUnavailable-like errors when the database cannot be reached. */
  ping(): Promise<void>;
  isPaused(team: string): Promise<{ paused: boolean; needsHuman: boolean }>;
  markNeedsHuman(team: string, reason: string, actor: string): Promise<void>;
  /**
   * Runs `work` under the team's lease, unless another actor holds it or a heal action for
   * the team was recorded within `withinSeconds` (another healer already acted). Returns
   * false when it did not run.
   */
  actExclusively(team: string, holder: string, withinSeconds: number, work: () => Promise<void>): Promise<boolean>;
  auditHeal(entry: { team: string; action: string; actor: string; reason: string; outcome: string; dryRun: boolean; evidence: string[]; metadata?: Record<string, unknown> }): Promise<void>;
  /** Upserts the latest verdict for one colour of a team (`environment_state`). */
  recordHealth(entry: HealthRecord): Promise<void>;
}

export interface HealthRecord {
  team: string;
  environment: Colour;
  healthy: boolean;
  evidence: string[];
  checkedAt: Date;
}

export type HealAuditInput = Parameters<HealerCoordination["auditHeal"]>[0];

export interface HealerPorts {
  placement(team: string): Promise<TeamPlacement>;
  gatherEvidence(team: string, placement: TeamPlacement, policy: TeamHealingConfig): Promise<HealthEvidence>;
  restartContainer(containerName: string): Promise<void>;
  /** Switch through the orchestrator (its lock, budget, backup and policy gates apply). */
  switchTo(team: string, to: Colour, reason: string): Promise<void>;
  escalate(team: string, reason: string, evidence: string[]): Promise<void>;
  coordination: HealerCoordination;
  log(event: Record<string, unknown>): void;
  now(): number;
}

/** What the healer exposes as metrics and in `heal status`. */
export interface TeamHealStatus {
  team: string;
  configuredMode: TeamHealingConfig["mode"];
  effectiveMode: EffectiveMode;
  healthy?: boolean;
  consecutiveFailures: number;
  needsHuman: boolean;
  paused: boolean;
  lastDecision?: string;
  lastEvidence: string[];
}

export interface HealerCounters {
  decisions: Map<string, number>;
  actions: Map<string, number>;
  failures: Map<string, number>;
}

const key = (...parts: string[]) => parts.join("\u0000");
const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

/**
 * The healer: per team, probes, judges, climbs the ladder and acts — restart, then switch
 * through the orchestrator, then escalate — with every decision audited. Without the
 * coordination database it degrades to monitor mode: it never acts unlocked.
 */
export class Healer {
  private readonly state = new Map<string, LadderState>();
  readonly status = new Map<string, TeamHealStatus>();
  readonly counters: HealerCounters = { decisions: new Map(), actions: new Map(), failures: new Map() };
  coordinationUp = true;

  constructor(
    private readonly teams: WatchedTeam[],
    private readonly ports: HealerPorts,
    private readonly healerId: string,
  ) {}

  /** One check of one team; returns the decision taken (for tests and logs). */
  async checkTeam(team: WatchedTeam): Promise<LadderDecision & { verdict: HealthVerdict }> {
    const { ports } = this;
    const placement = await ports.placement(team.name);
    const verdict = judge(await ports.gatherEvidence(team.name, placement, team.policy));

    let paused = false;
    let needsHumanInDb = false;
    try {
      await ports.coordination.ping();
      ({ paused, needsHuman: needsHumanInDb } = await ports.coordination.isPaused(team.name));
      if (!this.coordinationUp) ports.log({ level: "info", msg: "coordination database reachable again; acting normally" });
      this.coordinationUp = true;
    } catch (err) {
      if (this.coordinationUp) {
        ports.log({ level: "error", msg: "coordination database unreachable: degrading to monitor mode (no action without a lock)", error: String(err) });
      }
      this.coordinationUp = false;
    }
    if (this.coordinationUp) await this.recordHealth(team.name, placement.active, verdict);
    const effectiveMode: EffectiveMode = team.policy.mode === "on" && !this.coordinationUp ? "monitor" : team.policy.mode;

    let previous = this.state.get(team.name) ?? INITIAL_LADDER_STATE;
    if (previous.needsHuman && !needsHumanInDb && this.coordinationUp) previous = resumed(); // a human resumed it
    if (needsHumanInDb) previous = { ...previous, needsHuman: true };

    const decision = decide(previous, { healthy: verdict.healthy, now: ports.now(), policy: team.policy, mode: effectiveMode, paused });
    let next = decision.state;
    bump(this.counters.decisions, key(team.name, decision.action));

    if (decision.action !== "none") {
      const actor = `healer:${this.healerId}`;
      const auditBase = { team: team.name, action: decision.action, actor, reason: decision.reason, evidence: verdict.evidence, dryRun: decision.dryRun };
      if (decision.dryRun) {
        ports.log({ level: "warn", msg: "would act (monitor mode)", team: team.name, action: decision.action, reason: decision.reason, evidence: verdict.evidence });
        if (this.coordinationUp) await ports.coordination.auditHeal({ ...auditBase, outcome: "monitor_only" }).catch(() => undefined);
      } else {
        next = await this.act(team, placement, decision, verdict, actor, auditBase);
      }
    }
    this.state.set(team.name, next);
    this.status.set(team.name, {
      team: team.name,
      configuredMode: team.policy.mode,
      effectiveMode,
      healthy: verdict.healthy,
      consecutiveFailures: next.consecutiveFailures,
      needsHuman: next.needsHuman,
      paused,
      lastDecision: `${decision.action}: ${decision.reason}`,
      lastEvidence: verdict.evidence,
    });
    return { ...decision, state: next, verdict };
  }

  /**
   * Best-effort: the health record is for dashboards and on-call, not for deciding, so a
   * failed write is logged and counted but never stops the ladder.
   */
  private async recordHealth(team: string, environment: Colour, verdict: HealthVerdict): Promise<void> {
    const { ports } = this;
    try {
      await ports.coordination.recordHealth({ team, environment, healthy: verdict.healthy, evidence: verdict.evidence, checkedAt: new Date(ports.now()) });
    } catch (err) {
      bump(this.counters.failures, key(team, "record_health"));
      ports.log({ level: "warn", msg: "could not record health in environment_state", team, action: "record_health", environment, error: String(err) });
    }
  }

  private async act(
    team: WatchedTeam,
    placement: TeamPlacement,
    decision: LadderDecision,
    verdict: HealthVerdict,
    actor: string,
    auditBase: Omit<HealAuditInput, "outcome">,
  ): Promise<LadderState> {
    const { ports } = this;
    let next = decision.state;
    const record = (outcome: string, metadata?: Record<string, unknown>) => ports.coordination.auditHeal({ ...auditBase, outcome, metadata });
    try {
      if (decision.action === "restart_container") {
        const ran = await ports.coordination.actExclusively(team.name, actor, team.policy.recoveryWaitSeconds, async () => {
          await ports.restartContainer(placement.containerName);
          await record("done", { container: placement.containerName });
        });
        if (ran) bump(this.counters.actions, key(team.name, decision.action));
        ports.log({ level: "warn", msg: ran ? "restarted container" : "another actor is handling this team", team: team.name, container: placement.containerName });
      } else if (decision.action === "switch_environment") {
        // The orchestrator takes the team lease itself; a refusal (budget, lock, backup,
        // policy, unhealthy target) escalates. Placement is read again first: another
        // healer (or on-call) may have switched the team since this check started.
        const now = await ports.placement(team.name);
        if (now.active !== placement.active) {
          ports.log({ level: "info", msg: "team already switched by another actor; not switching again", team: team.name, active: now.active });
          return next;
        }
        try {
          await ports.switchTo(team.name, placement.standby, `auto-heal: ${decision.reason}; ${verdict.evidence.join("; ")}`);
          bump(this.counters.actions, key(team.name, decision.action));
          await record("done", { to: placement.standby });
        } catch (err) {
          const why = err instanceof Error ? err.message : String(err);
          if (/lease .* is held|held by/i.test(why)) {
            ports.log({ level: "info", msg: "switch not started: another actor holds the team lease", team: team.name, why });
            return next;
          }
          bump(this.counters.failures, key(team.name, decision.action));
          await record("failed", { error: why });
          await this.escalateTeam(team, actor, `switch to ${placement.standby} refused or failed: ${why}`, verdict);
          next = escalated(next, ports.now());
        }
      } else if (decision.action === "escalate_human") {
        await this.escalateTeam(team, actor, decision.reason, verdict);
      }
    } catch (err) {
      bump(this.counters.failures, key(team.name, decision.action));
      ports.log({ level: "error", msg: "heal action failed", team: team.name, action: decision.action, error: String(err) });
      await record("failed", { error: String(err) }).catch(() => undefined);
    }
    return next;
  }

  private async escalateTeam(team: WatchedTeam, actor: string, reason: string, verdict: HealthVerdict): Promise<void> {
    const { ports } = this;
    bump(this.counters.actions, key(team.name, "escalate_human"));
    // The flag first: even if the webhook is down, no healer acts on this team any more.
    await ports.coordination.markNeedsHuman(team.name, reason, actor);
    const audit = (outcome: string, metadata?: Record<string, unknown>) =>
      ports.coordination.auditHeal({ team: team.name, action: "escalate_human", actor, reason, outcome, dryRun: false, evidence: verdict.evidence, metadata });
    try {
      await ports.escalate(team.name, reason, verdict.evidence);
    } catch (err) {
      bump(this.counters.failures, key(team.name, "escalate_human"));
      await audit("failed", { error: err instanceof Error ? err.message : String(err) }).catch(() => undefined);
      throw err;
    }
    await audit("done");
    ports.log({ level: "error", msg: "escalated to a human; no further action on this team until 'jenkins-ha heal resume'", team: team.name, reason });
  }

  /** One check that never throws: a failed check is counted and logged, the loop goes on. */
  async checkSafely(team: WatchedTeam): Promise<void> {
    if (team.policy.mode === "off") return;
    try {
      await this.checkTeam(team);
    } catch (err) {
      bump(this.counters.failures, key(team.name, "check"));
      this.ports.log({ level: "error", msg: "health check round failed", team: team.name, error: String(err) });
    }
  }

  /**
   * One round over every team not `off`, all at once: a team whose probes time out must not
   * delay the others' checks (as in the loop, where each team runs on its own).
   */
  async round(): Promise<void> {
    await Promise.all(this.teams.map((team) => this.checkSafely(team)));
  }

  get watched(): readonly WatchedTeam[] {
    return this.teams;
  }
}
