import { DEFAULT_TEAM_HEALING } from "../../config/sections/healing";
import { INITIAL_LADDER_STATE, LadderDecision, LadderState, decide, escalated } from "../../automation/heal/ladder";

const policy = { ...DEFAULT_TEAM_HEALING, intervalSeconds: 1, recoveryWaitSeconds: 10, failureThreshold: 3 };

/** Feeds a sequence of verdicts one interval apart; returns every decision. */
function run(verdicts: boolean[], options: { mode?: "on" | "monitor" | "off"; paused?: boolean; start?: LadderState; everyMs?: number } = {}): LadderDecision[] {
  let state = options.start ?? INITIAL_LADDER_STATE;
  return verdicts.map((healthy, i) => {
    const d = decide(state, { healthy, now: i * (options.everyMs ?? 1000), policy, mode: options.mode ?? "on", paused: options.paused ?? false });
    state = d.state;
    return d;
  });
}

const actions = (ds: LadderDecision[]) => ds.map((d) => d.action).filter((a) => a !== "none");

describe("healing ladder", () => {
  it("never acts on a single failure, nor on failures below the threshold", () => {
    expect(actions(run([false, true, false, false, true, false, true]))).toEqual([]);
  });

  it("restarts after exactly `threshold` consecutive failures", () => {
    const ds = run([false, false, false]);
    expect(ds.map((d) => d.action)).toEqual(["none", "none", "restart_container"]);
    expect(ds[2].reason).toMatch(/3 consecutive failures \(threshold 3\): rung 1 of 3/);
  });

  it("climbs restart -> switch -> escalate, waiting for recovery between rungs", () => {
    const ds = run(Array(60).fill(false), { everyMs: 1000 });
    expect(actions(ds)).toEqual(["restart_container", "switch_environment", "escalate_human"]);
    const at = ds.map((d, i) => (d.action !== "none" ? i : -1)).filter((i) => i >= 0);
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(10);
    expect(ds[ds.length - 1].reason).toMatch(/waiting for a human/);
  });

  it("resets when healthy again", () => {
    const ds = run([false, false, false, true, false, false, false], { everyMs: 20_000 });
    expect(actions(ds)).toEqual(["restart_container", "restart_container"]);
  });

  it("records but does not act in monitor mode", () => {
    const ds = run([false, false, false], { mode: "monitor" });
    expect(ds[2]).toMatchObject({ action: "restart_container", dryRun: true });
  });

  it("does nothing when off or paused", () => {
    expect(actions(run(Array(10).fill(false), { mode: "off" }))).toEqual([]);
    expect(actions(run(Array(10).fill(false), { paused: true }))).toEqual([]);
  });

  it("escalates when the action budget is spent", () => {
    const busy: LadderState = { ...INITIAL_LADDER_STATE, actionTimes: [-3000, -2000, -1000] };
    const ds = run([false, false, false], { start: busy });
    expect(ds[2].action).toBe("escalate_human");
    expect(ds[2].reason).toMatch(/3 actions in 60 min \(budget 3\)/);
  });

  it("stops acting after an escalation from outside the ladder", () => {
    const ds = run(Array(30).fill(false), { start: escalated(INITIAL_LADDER_STATE, -100_000) });
    expect(actions(ds)).toEqual([]);
  });
});
