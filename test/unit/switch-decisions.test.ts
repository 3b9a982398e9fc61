import { checkSwitchPlan } from "../../automation/switch/plan-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderStackOffline } from "../../automation/offline/render";
import { PROJECT_DIR, clone, stackConfig } from "../support/stacks";
import { StepSample, evaluateStep, percentile } from "../../automation/switch/sli";

const gates = { maxErrorRate: 0.02, maxP95Ms: 2000, minAvailability: 0.995 };
const okProbes = (n: number, ms = 50) => Array.from({ length: n }, () => ({ ok: true, latencyMs: ms }));
const sample = (s: Partial<StepSample>): StepSample => ({
  proxiedRequests: 0,
  proxied5xx: 0,
  proxiedConnectionErrors: 0,
  proxiedAvgResponseMs: 0,
  probes: [],
  ...s,
});

describe("SLI gate of a shift step", () => {
  it("passes a healthy step", () => {
    const v = evaluateStep(sample({ proxiedRequests: 1000, proxied5xx: 1, proxiedAvgResponseMs: 80, probes: okProbes(20) }), gates);
    expect(v.pass).toBe(true);
    expect(v.breaches).toEqual([]);
    expect(v.reading.requests).toBe(1020);
  });

  it("fails on no data at all: never passes by default", () => {
    const v = evaluateStep(sample({}), gates);
    expect(v.pass).toBe(false);
    expect(v.breaches).toEqual(["no data: the target received no request during the step"]);
    expect(v.reading.availability).toBe(0);
  });

  it("fails when only failed probes exist", () => {
    const v = evaluateStep(sample({ probes: [{ ok: false, latencyMs: 5 }] }), gates);
    expect(v.pass).toBe(false);
    expect(v.breaches.join()).toMatch(/error rate 100 % > 2 %/);
  });

  it("fails on an error rate above 2 %", () => {
    const v = evaluateStep(sample({ proxiedRequests: 100, proxied5xx: 3, probes: okProbes(0) }), gates);
    expect(v.breaches).toContain("error rate 3 % > 2 %");
    expect(v.pass).toBe(false);
  });

  it("passes an error rate of exactly 2 % but fails availability below 99.5 %", () => {
    const v = evaluateStep(sample({ proxiedRequests: 100, proxied5xx: 2 }), gates);
    expect(v.breaches).toEqual(["availability 98 % < 99.5 %"]);
  });

  it("fails on p95 above 2000 ms from probes", () => {
    const probes = [...okProbes(18, 100), { ok: true, latencyMs: 2500 }, { ok: true, latencyMs: 2600 }];
    const v = evaluateStep(sample({ probes }), gates);
    expect(v.breaches).toEqual(["p95 2500 ms > 2000 ms"]);
  });

  it("counts connection errors toward the target against availability", () => {
    const v = evaluateStep(sample({ proxiedRequests: 1000, proxiedConnectionErrors: 10, probes: okProbes(5) }), gates);
    expect(v.breaches).toEqual(["availability 99 % < 99.5 %"]);
  });

  it("computes nearest-rank percentiles", () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
    expect(percentile([5], 95)).toBe(5);
    expect(Number.isNaN(percentile([], 95))).toBe(true);
  });
});

describe("switch plan check", () => {
  const urn = (type: string, name: string) => `urn:pulumi:prod::jenkins-ha::${type}::${name}`;

  it("allows changes to the team's own resources and the shared HAProxy config", () => {
    expect(
      checkSwitchPlan(
        [
          { op: "update", urn: urn("jenkins-ha:jenkins:JenkinsTeam$docker:index/container:Container", "jenkins-devops-blue"), type: "docker:index/container:Container" },
          { op: "update", urn: urn("jenkins-ha:loadbalancer:LoadBalancer$command:local:Command", "haproxy-config"), type: "command:local:Command" },
          { op: "same", urn: urn("jenkins-ha:jenkins:JenkinsTeam$docker:index/container:Container", "jenkins-ma-blue"), type: "docker:index/container:Container" },
        ],
        "devops",
      ),
    ).toEqual([]);
  });

  it("refuses a change to another team, naming it", () => {
    const problems = checkSwitchPlan(
      [{ op: "update", urn: urn("docker:index/container:Container", "jenkins-ma-green"), type: "docker:index/container:Container" }],
      "devops",
    );
    expect(problems).toEqual([expect.stringMatching(/would update .*jenkins-ma-green, which is outside team 'devops'/)]);
  });

  it("lets another team's component carry only the bookkeeping of its last switch, nothing more", () => {
    const team = urn("jenkins-ha:jenkins:JenkinsTeam", "jenkins-ma");
    const type = "jenkins-ha:jenkins:JenkinsTeam";
    expect(checkSwitchPlan([{ op: "update", urn: team, type, diffs: ["lastDeployedEnvironment"] }], "devops")).toEqual([]);
    // Unknown diffs, another input, or a non-component resource: still outside the team.
    expect(checkSwitchPlan([{ op: "update", urn: team, type }], "devops")).toHaveLength(1);
    expect(checkSwitchPlan([{ op: "update", urn: team, type, diffs: ["lastDeployedEnvironment", "activeEnvironment"] }], "devops")).toHaveLength(1);
    expect(checkSwitchPlan([{ op: "replace", urn: team, type, diffs: ["lastDeployedEnvironment"] }], "devops")).toHaveLength(1);
    expect(
      checkSwitchPlan([{ op: "update", urn: urn("docker:index/container:Container", "jenkins-ma-green"), type: "docker:index/container:Container", diffs: ["lastDeployedEnvironment"] }], "devops"),
    ).toHaveLength(1);
  });

  it("does not confuse a team whose name is a prefix of another", () => {
    const problems = checkSwitchPlan(
      [{ op: "update", urn: urn("docker:index/container:Container", "jenkins-dev-blue"), type: "docker:index/container:Container" }],
      "devops",
    );
    expect(problems).toHaveLength(1);
  });

  it("refuses deleting or replacing a home volume", () => {
    for (const op of ["delete", "replace"]) {
      const problems = checkSwitchPlan(
        [{ op, urn: urn("jenkins-ha:jenkins:JenkinsTeam$docker:index/volume:Volume", "jenkins-devops-blue-home"), type: "docker:index/volume:Volume" }],
        "devops",
      );
      expect(problems).toEqual([expect.stringMatching(new RegExp(`would ${op} home volume`))]);
    }
  });

  it("a staged switch of one team, run through the real program, changes nothing outside that team", async () => {
    // One build dir for all three runs, as a deployment has (.jenkins-ha/build/<stack>).
    const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-build-"));
    const renderConfig = (stack: string, rawConfig: Record<string, unknown>) => renderStackOffline({ projectDir: PROJECT_DIR, stack, rawConfig, buildDir });
    const before = await renderConfig("prod", stackConfig("prod"));
    const staged = clone(stackConfig("prod")) as Record<string, any>; // edited like YAML
    staged.teams.ma.standbyRunning = true;
    staged.teams.ma.switchRecord = { id: "sw-1", requestedBy: "t", reason: "r", from: "blue", to: "green", backupId: "b", backupVerifiedAt: new Date().toISOString(), requestedAt: new Date().toISOString() };
    const stage = await renderConfig("prod", staged);
    const committed = clone(staged);
    committed.teams.ma.activeEnvironment = "green";
    const commit = await renderConfig("prod", committed);
    for (const [from, to] of [[before, stage], [stage, commit]]) {
      const old = new Map(from.resources.map((r) => [r.urn, JSON.stringify(r.inputs)]));
      const steps = to.resources.map((r) => ({ op: old.get(r.urn) === JSON.stringify(r.inputs) ? "same" : old.has(r.urn) ? "update" : "create", urn: r.urn, type: r.type }));
      expect(steps.filter((s) => s.op !== "same").length).toBeGreaterThan(0);
      expect(checkSwitchPlan(steps, "ma")).toEqual([]);
    }
    fs.rmSync(buildDir, { recursive: true, force: true });
  });
});
