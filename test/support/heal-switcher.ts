import { otherColour } from "../../config/model";
import { Colour } from "../../config/schema";
import { LeaseHeld } from "../../automation/coordination/errors";
import { PgCoordination } from "../../automation/coordination/store";
import { SwitchRequester } from "../../automation/heal/switch-requester";
import { SwitchOutcome } from "../../automation/switch/ports";
import { HaproxyTraffic } from "../../automation/traffic/haproxy-traffic";

/**
 * TEST STAND-IN for the switch orchestrator (not the orchestrator): what the healer's
 * tests need from a switch, done for real — the team lease, the switch budget from the
 * audit trail, traffic moved on a real HAProxy with runtime weights, and the `switch`
 * audit row (which also records the new active colour). No backup, sync, preview or
 * progressive shift: the real orchestrator's end-to-end tests belong to the switch issue,
 * and the healer's switch through the real orchestrator is heal-switch-orchestrator.test.ts.
 */
export class StandInSwitcher implements SwitchRequester {
  readonly calls: Array<{ team: string; to: Colour; reason: string; outcome: SwitchOutcome; detail?: string }> = [];

  constructor(
    private readonly coordination: PgCoordination,
    private readonly traffic: HaproxyTraffic,
    private readonly backendOf: (team: string) => string,
  ) {}

  async switchTo(team: string, to: Colour, reason: string): Promise<{ outcome: SwitchOutcome; reason?: string }> {
    const from = otherColour(to);
    const done = (outcome: SwitchOutcome, detail?: string) => {
      this.calls.push({ team, to, reason, outcome, detail });
      return { outcome, reason: detail };
    };
    let lease;
    try {
      lease = await this.coordination.acquireLease(`team:${team}`, "stand-in-switcher", 60);
    } catch (err) {
      if (err instanceof LeaseHeld) return done("refused", err.message);
      throw err;
    }
    const startedAt = new Date();
    try {
      const budget = await this.coordination.checkBudget(team, startedAt);
      const entry = { operation: "switch" as const, team, actor: "stand-in-switcher", reason, from, to, startedAt, metadata: { standIn: true } };
      if (!budget.allowed) {
        await this.coordination.audit({ ...entry, outcome: "refused", finishedAt: new Date() });
        return done("refused", `switch budget exhausted: ${budget.reason}`);
      }
      await this.traffic.setTargetPercent(this.backendOf(team), from, to, 100);
      await this.coordination.audit({ ...entry, outcome: "completed", finishedAt: new Date() });
      return done("completed");
    } finally {
      await this.coordination.releaseLease(lease);
    }
  }
}
