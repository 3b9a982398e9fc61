import { randomUUID } from "crypto";
import { Colour } from "../../config/schema";
import { SwitchConfig } from "../../config/sections/switch";
import { otherColour } from "../../config/model";
import { OperatorError } from "../cli/errors";
import { LeaseHeld } from "../coordination/errors";
import { checkSwitchPlan } from "./plan-check";
import {
  BackupPort,
  BudgetProof,
  HealthPort,
  HeldLease,
  Progress,
  SwitchCoordination,
  SwitchJournalEntry,
  SwitchOutcome,
  TrafficPort,
} from "./ports";
import { SliVerdict, evaluateStep, sampleFromStats } from "./sli";
import { StackOperations } from "./stack-operations";

export class SwitchRefused extends OperatorError {}

/** An SLI gate failed at a step; traffic was already moved back when this is thrown. */
export class SliBreach extends OperatorError {
  constructor(
    readonly percent: number,
    readonly verdict: SliVerdict,
  ) {
    super(`SLI breach at ${percent} %: ${verdict.breaches.join("; ")}`);
  }
}

/** The switch was stopped by a signal or `jenkins-ha emergency-stop`. */
export class SwitchAborted extends OperatorError {}

export interface SwitchRequest {
  team: string;
  to: Colour;
  reason: string;
  actor: string;
  mode: "safe" | "force" | "rollback" | "auto-heal";
  dryRun?: boolean;
}

export interface StepReport {
  percent: number;
  startedAt: string;
  heldMs: number;
  sli: SliVerdict["reading"];
  pass: boolean;
}

export interface SwitchReport {
  id: string;
  team: string;
  from: Colour;
  to: Colour;
  outcome: SwitchOutcome | "dry-run";
  reason?: string;
  steps: StepReport[];
  timings: Record<string, number>;
  backupId?: string;
}

export interface OrchestratorDeps {
  stack: StackOperations;
  coordination: SwitchCoordination;
  backup: BackupPort;
  health: HealthPort;
  traffic: TrafficPort;
  settings: SwitchConfig;
  /** Per team: HAProxy backend and direct URLs of both colours (from config / outputs). */
  teamInfo(team: string): Promise<{ backend: string; urls: Record<Colour, string> }>;
  progress: Progress;
  now?: () => Date;
  /** Aborts the running switch (SIGINT/SIGTERM handlers call it). */
  signal?: AbortSignal;
}

const configPath = (team: string, key: string) => `teams.${team}.${key}`;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new SwitchAborted(`switch aborted: ${String(signal.reason ?? "signal")}`));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new SwitchAborted(`switch aborted: ${String(signal?.reason ?? "signal")}`));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The switch flow of DESIGN.md: pre-flight (lease, budget, backup, sync), stage (config,
 * preview with policies, up, health), shift (weights with SLI gates), commit (config, up),
 * audit. Any failure rolls back traffic and config; the journal lets the next run finish a
 * rollback after this process was killed.
 */
export class SwitchOrchestrator {
  constructor(private readonly deps: OrchestratorDeps) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private emit(team: string, step: string, message: string, extra: Partial<Parameters<Progress>[0]> = {}) {
    this.deps.progress({ team, step, message, ...extra });
  }

  /**
   * Runs config writes, previews and updates under the stack lease. All teams share one
   * stack, and the engine refuses a second update while one runs; a team's staged config
   * must also not leak into another team's preview. So these sections are serialised per
   * stack (waiting up to `stackLockWaitSeconds`), while the long part of a switch — health
   * wait and traffic shift — runs under the team lease only, in parallel with other teams.
   * Deadlock-free: the stack lease is only ever taken while holding a team lease, never the
   * other way round.
   */
  private async onStack<T>(team: string, holder: string, work: () => Promise<T>): Promise<T> {
    const name = `stack:${this.deps.stack.stackName}`;
    const ttl = this.deps.settings.leaseTtlSeconds;
    const deadline = Date.now() + this.deps.settings.stackLockWaitSeconds * 1000;
    let lease: HeldLease | undefined;
    let waitingFor: string | undefined;
    while (!lease) {
      try {
        lease = await this.deps.coordination.acquireLease(name, holder, ttl);
      } catch (err) {
        if (!(err instanceof LeaseHeld)) throw err;
        if (Date.now() >= deadline) {
          throw new SwitchRefused(
            `stack '${this.deps.stack.stackName}' stayed busy for ${this.deps.settings.stackLockWaitSeconds} s (held by ${err.holder}); try again when it is done (jenkins-ha lock show)`,
          );
        }
        if (waitingFor !== err.holder) {
          waitingFor = err.holder;
          this.emit(team, "wait", `stack '${this.deps.stack.stackName}' is busy (${err.holder}); waiting`);
        }
        await sleep(250 + Math.floor(Math.random() * 250), this.deps.signal);
      }
    }
    const held = lease;
    // An update can outlast the TTL: keep the lease alive while it runs.
    const stopRenewing = this.keepLease(team, held, "stack");
    try {
      return await work();
    } finally {
      stopRenewing();
      await this.deps.coordination.releaseLease(held).catch(() => undefined);
    }
  }

  private async activeColour(team: string): Promise<Colour> {
    const value = await this.deps.stack.getConfig(configPath(team, "activeEnvironment"));
    if (value !== "blue" && value !== "green") {
      throw new SwitchRefused(`team '${team}' has no valid teams.${team}.activeEnvironment in stack '${this.deps.stack.stackName}'; check the team name`);
    }
    return value;
  }

  /** Finishes (rolls back, or with `resume` completes) switches a killed run left open. */
  async recoverInterrupted(team: string, options: { resume?: boolean; actor: string }): Promise<SwitchReport[]> {
    const reports: SwitchReport[] = [];
    for (const entry of await this.deps.coordination.journalOpen(team)) {
      this.emit(team, "recovery", `found interrupted switch ${entry.id} (${entry.from} -> ${entry.to}) in phase ${entry.phase}`);
      const lease = await this.deps.coordination.acquireLease(`team:${team}`, `${options.actor} (recovery of ${entry.id})`, this.deps.settings.leaseTtlSeconds);
      const stopRenewing = this.keepLease(team, lease, "team");
      try {
        await this.deps.coordination.journalUpdate(entry.id, { token: lease.token });
        if (entry.committed && entry.phase === "commit") {
          // Committed and deployed; only the record was missing. Undoing it would be a new
          // colour change nobody asked for: finish the record ('jenkins-ha rollback' remains).
          await this.finishCommitted(entry, { recoveredBy: options.actor });
          reports.push({ id: entry.id, team, from: entry.from, to: entry.to, outcome: "completed", reason: "interrupted after commit", steps: [], timings: {} });
        } else if (options.resume && !entry.emergencyStop && entry.phase !== "rollback") {
          // Traffic only moves once the target is staged and healthy: a switch killed before
          // the shift runs again from the pre-flight (backup, sync, stage, health), one killed
          // in the shift shifts again from the first step, one killed in the commit (every
          // step had passed) commits once the target is healthy, and one killed while
          // rolling back finishes its rollback.
          reports.push(await this.runFrom(entry, lease, entry.phase === "commit" ? "commit" : entry.phase === "shift" ? "shift" : "preflight"));
        } else {
          await this.rollback(entry, lease, `interrupted in phase ${entry.phase}; recovered by ${options.actor}`);
          reports.push({ id: entry.id, team, from: entry.from, to: entry.to, outcome: "rolled_back", reason: "interrupted", steps: [], timings: {} });
        }
      } finally {
        stopRenewing();
        await this.deps.coordination.releaseLease(lease).catch(() => undefined);
      }
    }
    return reports;
  }

  async switch(request: SwitchRequest): Promise<SwitchReport> {
    const { team } = request;
    await this.recoverInterrupted(team, { actor: request.actor });
    const from = await this.activeColour(team);
    if (from === request.to) {
      throw new SwitchRefused(`team '${team}' already runs on ${request.to}; nothing to switch (use 'jenkins-ha status --team ${team}')`);
    }
    const lease = await this.deps.coordination.acquireLease(`team:${team}`, request.actor, this.deps.settings.leaseTtlSeconds);
    const stopRenewing = this.keepLease(team, lease, "team");
    let entry: SwitchJournalEntry | undefined;
    try {
      const budget = await this.deps.coordination.checkBudget(team, this.now());
      // `force` (on-call, audited) and `rollback` skip only the budget: never the lock or the backup.
      const budgetApplies = request.mode === "safe" || request.mode === "auto-heal";
      if (!budget.allowed && budgetApplies) {
        await this.audit(request, from, "refused", { budget: proofJson(budget) }, this.now());
        throw new SwitchRefused(`switch budget exhausted for team '${team}': ${budget.reason}; allowed again at ${budget.allowedAt?.toISOString() ?? "unknown"} (on-call may use --mode force, which is audited)`);
      }
      if (request.dryRun) {
        this.emit(team, "dry-run", `lease ${lease.token} taken, budget ${budget.allowed ? "ok" : "exhausted (force)"}; would switch ${from} -> ${request.to}`);
        return { id: "dry-run", team, from, to: request.to, outcome: "dry-run", steps: [], timings: {} };
      }
      entry = {
        id: `sw-${this.now().toISOString().replace(/[:.]/g, "")}-${randomUUID().slice(0, 8)}`,
        team,
        from,
        to: request.to,
        actor: request.actor,
        reason: request.reason,
        mode: request.mode,
        phase: "preflight",
        targetPercent: 0,
        committed: false,
        startedAt: this.now(),
        token: lease.token,
        emergencyStop: false,
      };
      await this.deps.coordination.journalBegin(entry);
      return await this.runFrom(entry, lease, "preflight", budget);
    } finally {
      stopRenewing();
      await this.deps.coordination.releaseLease(lease).catch(() => undefined);
    }
  }

  /** Runs the flow from a phase; on any failure rolls back and rethrows. */
  private async runFrom(entry: SwitchJournalEntry, lease: HeldLease, start: "preflight" | "shift" | "commit", budget?: BudgetProof): Promise<SwitchReport> {
    const { team, from, to } = entry;
    const timings: Record<string, number> = {};
    const steps: StepReport[] = [];
    const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
      const t0 = Date.now();
      try {
        return await work();
      } finally {
        timings[name] = (timings[name] ?? 0) + (Date.now() - t0) / 1000;
      }
    };
    const info = await this.deps.teamInfo(team);
    let backupId: string | undefined;
    let committed = false;
    try {
      if (start === "preflight") {
        const backup = await timed("backup_s", () => this.deps.backup.runAndVerify(team, from));
        backupId = backup.id;
        this.emit(team, "preflight", `backup ${backup.id} verified at ${backup.verifiedAt.toISOString()}`);
        const sync = await timed("sync_s", () => this.deps.backup.sync(team, from, to));
        this.emit(team, "preflight", `critical data synced ${from} -> ${to}${sync.buildsWereRunning ? " (builds were running on the source)" : ""}`);

        await this.deps.coordination.journalUpdate(entry.id, { phase: "stage" });
        const proof = budget ?? (await this.deps.coordination.checkBudget(team, this.now()));
        await this.onStack(team, `${entry.actor} (stage of ${entry.id})`, async () => {
          await this.deps.coordination.assertFencing(lease);
          await this.deps.stack.setConfig(configPath(team, "standbyRunning"), "true");
          await this.deps.stack.setConfigObject(configPath(team, "switchRecord"), {
            id: entry.id,
            requestedBy: entry.actor,
            reason: entry.reason,
            from,
            to,
            backupId: backup.id,
            backupVerifiedAt: backup.verifiedAt.toISOString(),
            requestedAt: entry.startedAt.toISOString(),
            mode: entry.mode,
            switchesLastHour: proof.switchesLastHour,
            switchesLastDay: proof.switchesLastDay,
            ...(proof.lastSwitchAt ? { lastSwitchAt: proof.lastSwitchAt.toISOString() } : {}),
          });
          const plan = await timed("preview_s", () => this.deps.stack.preview((line) => this.emit(team, "stage", line.trimEnd())));
          const problems = checkSwitchPlan(plan.steps, team);
          if (problems.length > 0) throw new SwitchRefused(`the staged plan is not a switch of team '${team}':\n  - ${problems.join("\n  - ")}`);
          await timed("stage_up_s", () => this.deps.stack.up((line) => this.emit(team, "stage", line.trimEnd())));
        });
        this.emit(team, "stage", `${to} deployed; waiting until it is healthy`);
        await timed("health_s", () =>
          this.deps.health.waitHealthy(team, to, info.urls[to], this.deps.settings.healthTimeoutSeconds * 1000, this.abortSignal()),
        );
      }

      if (start === "commit") {
        // Resumed after a kill in the commit: the shift had passed every SLI gate and traffic
        // was on the target. Time has passed since, so the target must answer again before
        // it is committed; then all traffic goes to it (as the last step left it).
        this.emit(team, "commit", `resuming the commit of ${entry.id}: every shift step had passed; checking ${to} is healthy`);
        await timed("health_s", () => this.deps.health.waitHealthy(team, to, info.urls[to], this.deps.settings.healthTimeoutSeconds * 1000, this.abortSignal()));
        await this.checkStop(entry);
        await this.deps.coordination.assertFencing(lease);
        await this.deps.traffic.setTargetPercent(info.backend, from, to, 100);
        await this.deps.coordination.journalUpdate(entry.id, { targetPercent: 100 });
      } else {
        await this.deps.coordination.journalUpdate(entry.id, { phase: "shift" });
        for (const percent of this.deps.settings.steps) {
          steps.push(await timed("shift_s", () => this.shiftStep(entry, lease, info, percent)));
        }
      }

      await this.deps.coordination.journalUpdate(entry.id, { phase: "commit" });
      await this.onStack(team, `${entry.actor} (commit of ${entry.id})`, async () => {
        await this.deps.coordination.assertFencing(lease);
        await this.deps.stack.setConfig(configPath(team, "activeEnvironment"), to);
        await timed("commit_up_s", () => this.deps.stack.up((line) => this.emit(team, "commit", line.trimEnd())));
      });
      await this.deps.coordination.journalUpdate(entry.id, { committed: true });
      committed = true;
      await this.finishCommitted(entry, { steps, timings, backupId });
      this.emit(team, "done", `switched ${from} -> ${to}; ${from} stays warm for the rollback window`);
      return { id: entry.id, team, from, to, outcome: "completed", steps, timings, backupId };
    } catch (err) {
      if (committed) {
        // The target is deployed and serving: a failure to record that is not a reason to
        // move every user back. The journal keeps the entry (committed), so the next
        // command finishes the record.
        throw new OperatorError(
          `switch ${entry.id} of '${team}' to ${to} is committed and deployed, but recording it failed (${err instanceof Error ? err.message : String(err)}); nothing was rolled back — the next 'jenkins-ha switch' or 'rollback' of '${team}' completes the record first`,
          { cause: err },
        );
      }
      const reason = err instanceof Error ? err.message : String(err);
      this.emit(team, "rollback", `rolling back: ${reason}`);
      try {
        await this.rollback(entry, lease, reason, { steps, timings, backupId, breaches: err instanceof SliBreach ? err.verdict.breaches : undefined });
      } catch (rollbackErr) {
        throw new OperatorError(
          `switch failed (${reason}) and the rollback failed too (${rollbackErr instanceof Error ? rollbackErr.message : String(rollbackErr)}); run 'jenkins-ha status --team ${team}' and 'jenkins-ha rollback --team ${team}' — the journal keeps switch ${entry.id} open`,
          { cause: rollbackErr },
        );
      }
      throw err;
    }
  }

  /**
   * Renews a lease every TTL/3 until the returned function is called. The team lease: a
   * switch or recovery (backup, stage, health wait up to `healthTimeoutSeconds`, a wait for
   * the stack lease) can outlast its TTL, and a lapsed lease would let the next command take
   * this live switch for a killed one. The stack lease: an update can outlast it too.
   */
  private keepLease(team: string, lease: HeldLease, kind: "team" | "stack"): () => void {
    const ttl = this.deps.settings.leaseTtlSeconds;
    let warned = false;
    const timer = setInterval(() => {
      this.deps.coordination.renewLease(lease, ttl).catch((err: unknown) => {
        if (!warned) this.emit(team, "wait", `could not renew the ${kind} lease: ${err instanceof Error ? err.message : String(err)}`);
        warned = true;
      });
    }, Math.max(1000, (ttl * 1000) / 3));
    return () => clearInterval(timer);
  }


  private abortSignal(): AbortSignal {
    return this.deps.signal ?? new AbortController().signal;
  }

  private async checkStop(entry: SwitchJournalEntry): Promise<void> {
    if (this.deps.signal?.aborted) throw new SwitchAborted(`switch aborted: ${String(this.deps.signal.reason ?? "signal")}`);
    const open = await this.deps.coordination.journalOpen(entry.team);
    if (open.some((e) => e.id === entry.id && e.emergencyStop)) throw new SwitchAborted("emergency stop requested");
  }

  private async shiftStep(entry: SwitchJournalEntry, lease: HeldLease, info: { backend: string; urls: Record<Colour, string> }, percent: number): Promise<StepReport> {
    const { team, from, to } = entry;
    await this.checkStop(entry);
    await this.deps.coordination.renewLease(lease, this.deps.settings.leaseTtlSeconds);
    await this.deps.coordination.assertFencing(lease);
    await this.deps.traffic.setTargetPercent(info.backend, from, to, percent);
    await this.deps.coordination.journalUpdate(entry.id, { targetPercent: percent });
    const startedAt = new Date();
    const before = await this.deps.traffic.readServer(info.backend, to);
    const probes: Array<{ ok: boolean; latencyMs: number }> = [];
    const holdMs = this.deps.settings.holdSeconds * 1000;
    const interval = 1000 / this.deps.settings.sli.probesPerSecond;
    const deadline = Date.now() + holdMs;
    do {
      probes.push(await this.deps.health.probe(`${info.urls[to]}/login`, this.deps.settings.sli.maxP95Ms * 2));
      await this.checkStop(entry);
      await sleep(Math.max(0, Math.min(interval, deadline - Date.now())), this.deps.signal);
    } while (Date.now() < deadline);
    const after = await this.deps.traffic.readServer(info.backend, to);
    const verdict = evaluateStep(sampleFromStats(before, after, probes), this.deps.settings.sli);
    const report: StepReport = { percent, startedAt: startedAt.toISOString(), heldMs: Date.now() - startedAt.getTime(), sli: verdict.reading, pass: verdict.pass };
    this.emit(team, "shift", `${percent} % on ${to}: ${verdict.pass ? "SLIs ok" : verdict.breaches.join("; ")}`, {
      percent,
      sli: { ...verdict.reading },
      breaches: verdict.breaches,
    });
    if (!verdict.pass) {
      // Traffic back first, at once; the rest of the rollback follows.
      await this.deps.traffic.setTargetPercent(info.backend, from, to, 0);
      throw new SliBreach(percent, verdict);
    }
    return report;
  }

  /** Traffic back to the source, config back, `up`, audit, journal closed. */
  private async rollback(entry: SwitchJournalEntry, lease: HeldLease, reason: string, metadata: Record<string, unknown> = {}): Promise<void> {
    const { team, from, to } = entry;
    await this.deps.coordination.journalUpdate(entry.id, { phase: "rollback" });
    await this.deps.coordination.assertFencing(lease);
    const info = await this.deps.teamInfo(team);
    await this.deps.traffic.setTargetPercent(info.backend, from, to, 0).catch((err: unknown) => {
      // HAProxy may not know the target as a shiftable server (stage never deployed); the
      // config below restores the declared state either way.
      this.emit(team, "rollback", `could not reset weights: ${err instanceof Error ? err.message : String(err)}`);
    });
    await this.onStack(team, `${entry.actor} (rollback of ${entry.id})`, () => this.restoreConfig(entry, lease, reason));
    await this.deps.traffic.restoreConfiguredWeights(info.backend).catch((err: unknown) => {
      this.emit(team, "rollback", `could not restore the configured weights: ${err instanceof Error ? err.message : String(err)} — check 'jenkins-ha status --team ${team}'`);
    });
    await this.deps.coordination.journalFinish(entry.id, "rolled_back");
    await this.auditEntry(entry, "rolled_back", { ...metadata, rollbackReason: reason });
    this.emit(team, "rollback", `rolled back to ${from}: ${reason}`);
  }

  /** Stack config back to the source colour (a new record if the commit went through), then `up`. */
  private async restoreConfig(entry: SwitchJournalEntry, lease: HeldLease, reason: string): Promise<void> {
    const { team, from, to } = entry;
    await this.deps.coordination.assertFencing(lease);
    const active = await this.activeColour(team);
    if (active !== from) {
      // The commit went through: going back is itself a colour change, with its own record.
      await this.deps.stack.setConfig(configPath(team, "activeEnvironment"), from);
      const record = await this.deps.stack.getConfig(configPath(team, "switchRecord.backupId"));
      await this.deps.stack.setConfigObject(configPath(team, "switchRecord"), {
        id: `${entry.id}-rollback`,
        requestedBy: entry.actor,
        reason: `rollback: ${reason}`.slice(0, 500),
        from: to,
        to: from,
        backupId: record ?? "none",
        backupVerifiedAt: (await this.deps.stack.getConfig(configPath(team, "switchRecord.backupVerifiedAt"))) ?? this.now().toISOString(),
        requestedAt: this.now().toISOString(),
        mode: "rollback",
      });
    } else {
      await this.deps.stack.removeConfig(configPath(team, "switchRecord")).catch(() => undefined);
      await this.deps.stack.setConfig(configPath(team, "standbyRunning"), "false");
    }
    await this.deps.stack.up((line) => this.emit(team, "rollback", line.trimEnd()));
  }

  /** Audit `completed` and close the journal entry, for a switch whose commit is deployed. */
  private async finishCommitted(entry: SwitchJournalEntry, metadata: Record<string, unknown>): Promise<void> {
    await this.auditEntry(entry, "completed", metadata);
    await this.deps.coordination.journalFinish(entry.id, "completed");
  }

  private async auditEntry(entry: SwitchJournalEntry, outcome: SwitchOutcome, metadata: Record<string, unknown>) {
    await this.deps.coordination.audit({
      operation: entry.mode === "rollback" ? "rollback" : "switch",
      team: entry.team,
      actor: entry.actor,
      reason: entry.reason,
      from: entry.from,
      to: entry.to,
      outcome,
      startedAt: entry.startedAt,
      finishedAt: this.now(),
      metadata: { switchId: entry.id, mode: entry.mode, forced: entry.mode === "force", ...metadata },
    });
  }

  private async audit(request: SwitchRequest, from: Colour, outcome: SwitchOutcome, metadata: Record<string, unknown>, startedAt: Date) {
    await this.deps.coordination.audit({
      operation: request.mode === "rollback" ? "rollback" : "switch",
      team: request.team,
      actor: request.actor,
      reason: request.reason,
      from,
      to: request.to,
      outcome,
      startedAt,
      finishedAt: this.now(),
      metadata: { mode: request.mode, ...metadata },
    });
  }

  /** Switch back to the other colour: the same gates, except the budget. */
  async rollbackTeam(team: string, reason: string, actor: string): Promise<SwitchReport> {
    const active = await this.activeColour(team);
    return this.switch({ team, to: otherColour(active), reason, actor, mode: "rollback" });
  }
}

function proofJson(budget: BudgetProof) {
  return {
    allowed: budget.allowed,
    reason: budget.reason,
    allowedAt: budget.allowedAt?.toISOString(),
    switchesLastHour: budget.switchesLastHour,
    switchesLastDay: budget.switchesLastDay,
  };
}
