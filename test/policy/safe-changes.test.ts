import * as fs from "fs";
import * as path from "path";
import { evaluatePolicies } from "../../automation/offline/policy";
import { policies, POLICY_PACK_NAME } from "../../policy/policies";
import { PROJECT_DIR, clone, stackConfig } from "../support/stacks";
import {
  CONTAINER,
  Inputs,
  PROD_DEPLOYED,
  checkPolicies,
  deployedColours,
  devopsSwitch,
  find,
  minutesAgo,
  prodConfig,
  sharedRender,
  summary,
  switchRecord,
  teamsOf,
} from "./support";

/** The passing side of every policy, through the real program. */
describe("the committed stacks and safe changes pass the policy pack", () => {
  let prod: Awaited<ReturnType<typeof sharedRender>>;
  beforeAll(async () => {
    prod = await sharedRender(prodConfig(), deployedColours(PROD_DEPLOYED));
  });
  afterAll(() => prod?.dispose());

  it("prod as committed (and as deployed) passes every policy, advisory ones included", async () => {
    const run = await prod.check();
    expect(summary(run.violations)).toEqual([]);
  });

  it("dev as committed passes every mandatory policy", async () => {
    const run = await checkPolicies(clone(stackConfig("dev")), { stack: "dev" });
    expect(summary(run.mandatory)).toEqual([]);
  });

  it("a first deployment needs no switch record (no previous outputs)", async () => {
    const run = await checkPolicies(prodConfig());
    expect(summary(run.mandatory)).toEqual([]);
  });

  it("a switch with a fresh record within budget passes (switch-record, switch-budget)", async () => {
    const { raw, previousOutputs } = devopsSwitch(switchRecord("blue", "green"));
    const run = await checkPolicies(raw, { previousOutputs });
    expect(summary(run.mandatory)).toEqual([]);
    // The JenkinsTeam component carries what the policies read.
    expect(find(run.render.resources, "jenkins-ha:jenkins:JenkinsTeam", "jenkins-devops").inputs).toMatchObject({
      team: "devops",
      activeEnvironment: "green",
      lastDeployedEnvironment: "blue",
      switchRecord: { id: "sw-20250101-0001", from: "blue", to: "green" },
    });
  });

  it("a forced switch over budget passes the budget (on-call, audited), not the backup", async () => {
    const over = { switchesLastHour: 7, switchesLastDay: 9, lastSwitchAt: minutesAgo(1) };
    const forced = devopsSwitch(switchRecord("blue", "green", { ...over, mode: "force" }));
    expect(summary((await checkPolicies(forced.raw, { previousOutputs: forced.previousOutputs })).mandatory)).toEqual([]);
    const stale = devopsSwitch(switchRecord("blue", "green", { ...over, forced: true, backupVerifiedAt: minutesAgo(90) }));
    const run = await checkPolicies(stale.raw, { previousOutputs: stale.previousOutputs });
    expect(run.mandatory.map((v) => v.policy)).toEqual(["switch-record"]);
  });

  it("a staged switch (record written, colour not yet changed) is held to the budget", async () => {
    const raw = prodConfig();
    teamsOf(raw).ma.standbyRunning = true;
    teamsOf(raw).ma.switchRecord = switchRecord("blue", "green", { switchesLastHour: 2 });
    const run = await checkPolicies(raw, { previousOutputs: deployedColours(PROD_DEPLOYED) });
    expect(run.mandatory.map((v) => `${v.policy} ${v.name}`)).toEqual(["switch-budget jenkins-ma"]);
  });

  it("a record left in config after its switch is not re-checked", async () => {
    const raw = prodConfig();
    teamsOf(raw).devops.switchRecord = switchRecord("blue", "green", { backupVerifiedAt: minutesAgo(3000), switchesLastHour: 9 });
    const run = await checkPolicies(raw, { previousOutputs: deployedColours(PROD_DEPLOYED) });
    expect(summary(run.mandatory)).toEqual([]);
  });

  it("HAProxy stats on 0.0.0.0 pass, because the renderer puts auth in front (admin-surfaces-private)", async () => {
    const raw = prodConfig();
    (raw.platform as { haproxy: Record<string, unknown> }).haproxy.statsBindAddress = "0.0.0.0";
    const run = await checkPolicies(raw);
    expect(summary(run.mandatory)).toEqual([]);
  });

  it("Grafana on 0.0.0.0 with its login and no sign-up passes; Prometheus there does not", async () => {
    const raw = prodConfig();
    raw.monitoring = { bindAddress: "0.0.0.0" };
    const run = await checkPolicies(raw);
    expect(run.mandatory.map((v) => `${v.policy} ${v.name}`).sort()).toEqual([
      "admin-surfaces-private monitoring-alertmanager",
      "admin-surfaces-private monitoring-prometheus",
    ]);
  });

  it("the healer role may mount the Docker socket; other roles may not", async () => {
    const socket = { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" };
    const asRole = (role: string) =>
      prod.check((rs) => {
        const alloy = find(rs, CONTAINER, "logging-alloy-vm1").inputs as Inputs;
        alloy.labels = [{ label: "jenkins-ha.role", value: role }];
        alloy.volumes.push(socket);
      });
    expect(summary((await asRole("healer")).mandatory)).toEqual([]);
    expect((await asRole("alloy")).mandatory.map((v) => v.policy)).toEqual(["no-privileged-no-docker-socket"]);
  });

  it("node exporter's read-only host root mount is allowed (documented exception)", async () => {
    const nodeExporter = find(prod.render.resources, CONTAINER, "monitoring-node-exporter-vm1").inputs as Inputs;
    expect(nodeExporter.mounts).toEqual([expect.objectContaining({ source: "/", readOnly: true })]);
  });

  it("advisory: a floating image tag and an unpinned plugin are warnings, not refusals", async () => {
    const raw = prodConfig();
    (raw.platform as { haproxy: Record<string, unknown> }).haproxy.image = "haproxy:latest";
    const run = await checkPolicies(raw, {
      mutate: (_rs, buildDir) => fs.appendFileSync(path.join(buildDir, "devops", "plugins.txt"), "git-client\nmatrix-auth:latest\n"),
    });
    expect(summary(run.mandatory)).toEqual([]);
    expect(summary(run.advisory).sort()).toEqual([
      expect.stringMatching(/^image-tags-pinned \(haproxy-image\): 'haproxy-image' uses image 'haproxy:latest', which floats .* pin a version tag or digest/),
      expect.stringMatching(/^plugin-versions-pinned \(jenkins-devops-image\): .*\(git-client, matrix-auth:latest\); write them as <id>:<version>/),
    ]);
  });

  it("policy config tightens a limit and turns a policy off, as --policy-pack-config does", async () => {
    const { raw, previousOutputs } = devopsSwitch(switchRecord("blue", "green", { backupVerifiedAt: minutesAgo(20) }));
    const strict = await checkPolicies(raw, { previousOutputs, evaluate: { config: { "switch-record": { backupMaxAgeMinutes: 15 } } } });
    expect(summary(strict.mandatory)).toEqual([expect.stringMatching(/verified 2\d min ago .* more than the 15 min allowed/)]);
    const off = await evaluatePolicies(strict.render.resources, { config: { "switch-record": "disabled" } });
    expect(off).toEqual([]);
    const advisory = await evaluatePolicies(strict.render.resources, { config: { "switch-record": { enforcementLevel: "advisory", backupMaxAgeMinutes: 15 } } });
    expect(advisory.map((v) => v.enforcementLevel)).toEqual(["advisory"]);
  });
});

describe("the pack", () => {
  it("has the nine mandatory policies and two advisory ones, each described, limits in configSchema", () => {
    const levels = Object.fromEntries(policies.map((p) => [p.name, p.enforcementLevel]));
    expect(levels).toEqual({
      "switch-record": "mandatory",
      "switch-budget": "mandatory",
      "one-image-per-team": "mandatory",
      "jenkins-health-and-restart": "mandatory",
      "no-privileged-no-docker-socket": "mandatory",
      "no-plaintext-secrets": "mandatory",
      "protected-state-volumes": "mandatory",
      "port-isolation": "mandatory",
      "admin-surfaces-private": "mandatory",
      "plugin-versions-pinned": "advisory",
      "image-tags-pinned": "advisory",
    });
    const defaults = (name: string) =>
      Object.fromEntries(Object.entries(policies.find((p) => p.name === name)!.configSchema!.properties).map(([k, v]) => [k, (v as { default?: unknown }).default]));
    expect(defaults("switch-record")).toMatchObject({ backupMaxAgeMinutes: 60 });
    expect(defaults("switch-budget")).toEqual({ maxSwitchesPerHour: 2, maxSwitchesPerDay: 5, cooldownMinutes: 30 });
  });

  it("is its own package, on the root's @pulumi versions, and only index.ts constructs the PolicyPack", () => {
    const root = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8"));
    const pack = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "policy", "package.json"), "utf8"));
    expect(pack.name).toBe(POLICY_PACK_NAME);
    expect(pack.dependencies).toEqual({ "@pulumi/policy": root.devDependencies["@pulumi/policy"], "@pulumi/pulumi": root.dependencies["@pulumi/pulumi"] });
    expect(fs.readFileSync(path.join(PROJECT_DIR, "policy", "PulumiPolicy.yaml"), "utf8")).toMatch(/^runtime: nodejs$/m);
    const constructing = fs
      .readdirSync(path.join(PROJECT_DIR, "policy"))
      .filter((f) => f.endsWith(".ts") && /new PolicyPack\(/.test(fs.readFileSync(path.join(PROJECT_DIR, "policy", f), "utf8")));
    expect(constructing).toEqual(["index.ts"]);
  });
});
