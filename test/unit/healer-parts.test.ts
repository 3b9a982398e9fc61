import { AlertInbox, parseNotification } from "../../automation/heal/alert-inbox";
import { HealerHttpServer } from "../../automation/heal/alert-webhook";
import { escalationTarget, sendEscalation } from "../../automation/heal/escalation";
import { Healer, HealerCoordination, HealerPorts, HealAuditInput, HealthRecord, TeamPlacement } from "../../automation/heal/healer";
import { renderHealerMetrics } from "../../automation/heal/metrics";
import { ActiveColourUnknown, modelPlacement } from "../../automation/heal/placement";
import { loadPlatformModel } from "../../config/load";
import { stackConfig } from "../support/stacks";
import { OrchestratorSwitchRequester, SwitchNotCompleted, switchPort } from "../../automation/heal/switch-requester";
import { SwitchRefused } from "../../automation/switch/orchestrator";
import { DEFAULT_TEAM_HEALING } from "../../config/sections/healing";
import { WebhookReceiver } from "../support/heal-webhook";

const firing = (team: string, alertname: string, environment?: string) => ({
  version: "4",
  status: "firing" as const,
  alerts: [{ status: "firing" as const, labels: { alertname, team, ...(environment ? { environment } : {}) }, fingerprint: `${team}-${alertname}-${environment ?? ""}` }],
});

describe("alert inbox (Alertmanager webhook v4)", () => {
  it("keeps firing alerts per team and colour until resolved; platform alerts are not a team's", () => {
    let now = 0;
    const inbox = new AlertInbox(60_000, () => now);
    inbox.accept(parseNotification(firing("devops", "JenkinsHealthCheckFailing", "blue")));
    inbox.accept(parseNotification(firing("devops", "JenkinsDown")));
    inbox.accept(parseNotification({ version: "4", status: "firing", alerts: [{ status: "firing", labels: { alertname: "HaproxyDown" } }] }));
    expect(inbox.firing("devops", "blue")).toEqual(["JenkinsDown", "JenkinsHealthCheckFailing"]);
    expect(inbox.firing("devops", "green")).toEqual(["JenkinsDown"]);
    expect(inbox.firing("ma", "blue")).toEqual([]);
    const resolved = firing("devops", "JenkinsDown");
    inbox.accept(parseNotification({ ...resolved, status: "resolved", alerts: resolved.alerts.map((a) => ({ ...a, status: "resolved" as const })) }));
    expect(inbox.firing("devops", "green")).toEqual([]);
    now = 61_000; // a lost "resolved" does not keep the team unhealthy for ever
    expect(inbox.firing("devops", "blue")).toEqual([]);
    expect(inbox.received).toBe(4);
  });

  it("rejects what is not an Alertmanager notification", () => {
    expect(() => parseNotification({})).toThrow(/'alerts' array missing/);
    expect(() => parseNotification({ alerts: [{ status: "odd", labels: {} }] })).toThrow(/status firing\|resolved/);
  });
});

describe("healer metrics", () => {
  it("uses the contract's action counter, zero-filled per team and action, plus mode and coordination state", () => {
    const text = renderHealerMetrics({
      teams: ["devops"],
      counters: { actions: new Map([["devops\u0000restart_container", 2]]), decisions: new Map([["devops\u0000none", 7]]), failures: new Map() },
      status: new Map([["devops", { team: "devops", configuredMode: "on", effectiveMode: "monitor", healthy: false, consecutiveFailures: 2, needsHuman: false, paused: false, lastEvidence: [] }]]),
      coordinationUp: false,
      alertsReceived: 3,
    });
    expect(text).toContain('jenkins_ha_heal_actions_total{team="devops",action="restart_container"} 2');
    expect(text).toContain('jenkins_ha_heal_actions_total{team="devops",action="escalate_human"} 0');
    expect(text).toContain('jenkins_ha_heal_decisions_total{team="devops",decision="none"} 7');
    expect(text).toContain('jenkins_ha_heal_mode{team="devops",mode="monitor",configured="on"} 1');
    expect(text).toContain('jenkins_ha_heal_mode{team="devops",mode="on",configured="on"} 0');
    expect(text).toContain("jenkins_ha_heal_coordination_up 0");
    expect(text).toContain("# TYPE jenkins_ha_heal_actions_total counter");
  });
});

describe("healer HTTP server", () => {
  it("accepts POST /alerts and /alertmanager, serves /metrics and /healthz", async () => {
    const inbox = new AlertInbox();
    const server = new HealerHttpServer({ inbox, metrics: () => "m 1\n", alive: () => true, log: () => undefined });
    const port = await server.listen(0, "127.0.0.1");
    try {
      const base = `http://127.0.0.1:${port}`;
      for (const p of ["/alerts", "/alertmanager"]) {
        expect((await fetch(`${base}${p}`, { method: "POST", body: JSON.stringify(firing("devops", `A${p.length}`, "blue")) })).status).toBe(200);
      }
      expect(inbox.firing("devops", "blue")).toHaveLength(2);
      expect((await fetch(`${base}/alerts`, { method: "POST", body: "not json" })).status).toBe(400);
      expect((await fetch(`${base}/alerts`)).status).toBe(405);
      expect(await (await fetch(`${base}/metrics`)).text()).toBe("m 1\n");
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe("escalation", () => {
  it("posts an Alertmanager alert to /api/v2/alerts and plain JSON elsewhere", async () => {
    const receiver = await new WebhookReceiver().start();
    try {
      const body = { team: "devops", reason: "switch refused", evidence: ["http: /login failed"], healer: "h1", at: new Date("2026-01-01T00:00:00Z") };
      await sendEscalation(escalationTarget(receiver.url("/api/v2/alerts")), body);
      await sendEscalation(escalationTarget(receiver.url("/hook")), body);
      expect(receiver.received[0].body).toEqual([expect.objectContaining({ labels: expect.objectContaining({ alertname: "HealerEscalation", team: "devops" }), startsAt: "2026-01-01T00:00:00.000Z" })]);
      expect(receiver.received[1].body).toMatchObject({ kind: "jenkins-ha.heal.escalation", team: "devops", reason: "switch refused", resume: expect.stringContaining("heal resume --team devops") });
    } finally {
      await receiver.stop();
    }
    await expect(sendEscalation(escalationTarget("http://127.0.0.1:1/hook"), { team: "t", reason: "r", evidence: [], healer: "h", at: new Date() })).rejects.toThrow(/unreachable.*healing.escalationWebhookUrl/);
  });
});

describe("switch requester", () => {
  it("maps the orchestrator's report and refusals; the healer's port throws unless completed", async () => {
    const seen: string[] = [];
    const ok = new OrchestratorSwitchRequester({ switch: async (r) => (seen.push(`${r.mode} ${r.reason}`), { id: "sw-1", team: r.team, from: "blue", to: r.to, outcome: "completed", steps: [], timings: {} }) }, "healer:x");
    expect(await ok.switchTo("devops", "green", "3 failures")).toEqual({ outcome: "completed", reason: undefined });
    expect(seen).toEqual(["auto-heal auto-heal: 3 failures"]);
    const refusing = new OrchestratorSwitchRequester({ switch: async () => { throw new SwitchRefused("switch budget exhausted"); } }, "healer:x");
    expect(await refusing.switchTo("devops", "green", "x")).toEqual({ outcome: "refused", reason: "switch budget exhausted" });
    await expect(switchPort(refusing)("devops", "green", "x")).rejects.toBeInstanceOf(SwitchNotCompleted);
    await expect(switchPort(ok)("devops", "green", "x")).resolves.toBeUndefined();
  });
});

describe("Healer with fake ports", () => {
  /** In-memory ports (test doubles): one team that always fails. */
  function fakes(placements: TeamPlacement[], opts: { recordHealth?: HealerCoordination["recordHealth"]; ping?: HealerCoordination["ping"] } = {}) {
    const audit: HealAuditInput[] = [];
    const calls: string[] = [];
    const health: HealthRecord[] = [];
    const logs: Record<string, unknown>[] = [];
    let placementCalls = 0;
    const coordination: HealerCoordination = {
      ping: opts.ping ?? (async () => undefined),
      isPaused: async () => ({ paused: false, needsHuman: false }),
      markNeedsHuman: async () => void calls.push("needs-human"),
      actExclusively: async (_t, _h, _w, work) => (await work(), true),
      auditHeal: async (e) => void audit.push(e),
      recordHealth: opts.recordHealth ?? (async (e) => void health.push(e)),
    };
    let now = 0;
    const ports: HealerPorts = {
      placement: async () => placements[Math.min(placementCalls++, placements.length - 1)],
      gatherEvidence: async () => ({ http: { ok: false, status: 500, latencyMs: 1 } }),
      restartContainer: async (n) => void calls.push(`restart ${n}`),
      switchTo: async (_t, to) => void calls.push(`switch ${to}`),
      escalate: async () => void calls.push("escalate"),
      coordination,
      log: (e) => void logs.push(e),
      now: () => now,
    };
    return { ports, audit, calls, health, logs, tick: (ms: number) => (now += ms) };
  }
  const blue: TeamPlacement = { active: "blue", standby: "green", activeUrl: "http://x", containerName: "jenkins-devops-blue", backend: "jenkins_devops" };
  const green: TeamPlacement = { ...blue, active: "green", standby: "blue", containerName: "jenkins-devops-green" };
  const team = { name: "devops", policy: { ...DEFAULT_TEAM_HEALING, mode: "on" as const, failureThreshold: 2, recoveryWaitSeconds: 1 } };

  it("does not switch when another actor switched the team since the check began", async () => {
    // Checks 1-4 see blue; the re-read before the switch sees green.
    const f = fakes([blue, blue, blue, blue, green]);
    const healer = new Healer([team], f.ports, "t");
    for (let i = 0; i < 4; i++) {
      await healer.checkTeam(team);
      f.tick(600);
    }
    expect(f.calls).toEqual(["restart jenkins-devops-blue"]);
  });

  it("escalation marks needs-human first and audits escalate_human", async () => {
    const f = fakes([blue]);
    const healer = new Healer([{ ...team, policy: { ...team.policy, actions: ["escalate_human"] } }], f.ports, "t");
    await healer.checkTeam(team);
    await healer.checkTeam({ ...team, policy: { ...team.policy, actions: ["escalate_human"] } });
    expect(f.calls).toEqual(["needs-human", "escalate"]);
    expect(f.audit.map((a) => `${a.action}:${a.outcome}`)).toEqual(["escalate_human:done"]);
  });

  it("records the active colour's health with the verdict's evidence on every check", async () => {
    const f = fakes([green, green, blue]);
    let healthy = false;
    f.ports.gatherEvidence = async () => ({ http: { ok: healthy, status: healthy ? 200 : 500, latencyMs: 7 } });
    const healer = new Healer([team], f.ports, "t");
    await healer.checkTeam(team);
    f.tick(1000);
    healthy = true;
    await healer.checkTeam(team);
    f.tick(1000);
    await healer.checkTeam(team); // switched meanwhile: now blue is the one watched
    expect(f.health).toEqual([
      { team: "devops", environment: "green", healthy: false, evidence: ["http: /login failed (500)"], checkedAt: new Date(0) },
      { team: "devops", environment: "green", healthy: true, evidence: ["http: /login 200 in 7 ms"], checkedAt: new Date(1000) },
      { team: "devops", environment: "blue", healthy: true, evidence: ["http: /login 200 in 7 ms"], checkedAt: new Date(2000) },
    ]);
  });

  it("a failed health record is logged and counted, and the ladder still restarts at the threshold", async () => {
    const f = fakes([blue], { recordHealth: async () => { throw new Error("permission denied for table environment_state"); } });
    const healer = new Healer([team], f.ports, "t");
    const first = await healer.checkTeam(team);
    expect(first.action).toBe("none");
    f.tick(600);
    const second = await healer.checkTeam(team);
    expect(second.action).toBe("restart_container");
    expect(f.calls).toEqual(["restart jenkins-devops-blue"]);
    expect(f.audit.map((a) => `${a.action}:${a.outcome}`)).toEqual(["restart_container:done"]);
    expect(healer.counters.failures.get("devops\u0000record_health")).toBe(2);
    expect(healer.counters.failures.has("devops\u0000check")).toBe(false);
    expect(f.logs).toEqual(expect.arrayContaining([expect.objectContaining({ level: "warn", team: "devops", action: "record_health", error: expect.stringMatching(/permission denied/) })]));
  });

  it("records nothing while the coordination database is down", async () => {
    let down = true;
    const f = fakes([blue], { ping: async () => { if (down) throw new Error("connect ECONNREFUSED"); } });
    const healer = new Healer([team], f.ports, "t");
    await healer.checkTeam(team);
    expect(healer.coordinationUp).toBe(false);
    expect(f.health).toEqual([]);
    expect(healer.counters.failures.has("devops\u0000record_health")).toBe(false);
    down = false; // and records again once it is back
    await healer.checkTeam(team);
    expect(f.health.map((h) => `${h.environment}:${h.healthy}`)).toEqual(["blue:false"]);
  });

  it("round() checks every team at once, not one after the other", async () => {
    const f = fakes([blue]);
    const inFlight = new Set<string>();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    f.ports.gatherEvidence = async (name) => {
      inFlight.add(name);
      await gate;
      return { http: { ok: true, status: 200, latencyMs: 1 } };
    };
    const ops = { ...team, name: "ops" };
    const healer = new Healer([team, ops], f.ports, "t");
    const round = healer.round();
    // A serial loop would still be waiting on devops' probe here, with ops never asked.
    for (let i = 0; i < 10 && inFlight.size < 2; i++) await new Promise((r) => setImmediate(r));
    expect([...inFlight].sort()).toEqual(["devops", "ops"]);
    release();
    await round;
    expect(f.health.map((h) => h.team).sort()).toEqual(["devops", "ops"]);
  });
});

describe("placement", () => {
  const model = loadPlatformModel("prod", stackConfig("prod"));
  it("uses the config's colour when it can be trusted, and refuses to guess when it cannot", async () => {
    expect(await modelPlacement(model)("devops")).toMatchObject({ active: "green", standby: "blue", containerName: "jenkins-devops-green", backend: "jenkins_devops" });
    await expect(modelPlacement(model, { configKnows: () => false })("devops")).rejects.toBeInstanceOf(ActiveColourUnknown);
    await expect(modelPlacement(model)("nobody")).rejects.toThrow(/not in stack 'prod'/);
  });
});
