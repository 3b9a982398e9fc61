import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EvaluateOptions, PolicyViolation, evaluatePolicies } from "../../automation/offline/policy";
import { RenderResult, renderStackOffline } from "../../automation/offline/render";
import { RegisteredResource } from "../../automation/offline/runtime";
import { PROJECT_DIR, clone, stackConfig } from "../support/stacks";

export type RawConfig = Record<string, unknown>;
// Provider inputs are untyped JSON; tests reach into them by name.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Inputs = Record<string, any>;

export interface PolicyRun {
  render: RenderResult;
  violations: PolicyViolation[];
  mandatory: PolicyViolation[];
  advisory: PolicyViolation[];
}

/**
 * Runs the real program offline for a config (and the outputs of a "last deployment"),
 * lets a test change what was registered — the way a bad code change would — and evaluates
 * the policy pack over it. The build dir stays until the policies ran (the plugins policy
 * reads plugins.txt from the image's build context, as it does in a real preview).
 */
export async function checkPolicies(
  rawConfig: RawConfig,
  options: {
    stack?: string;
    previousOutputs?: Record<string, unknown>;
    mutate?: (resources: RegisteredResource[], buildDir: string) => void;
    evaluate?: EvaluateOptions;
  } = {},
): Promise<PolicyRun> {
  const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-policy-"));
  try {
    const render = await renderStackOffline({
      projectDir: PROJECT_DIR,
      stack: options.stack ?? "prod",
      rawConfig,
      buildDir,
      previousOutputs: options.previousOutputs,
    });
    options.mutate?.(render.resources, buildDir);
    const violations = await evaluatePolicies(render.resources, options.evaluate);
    return {
      render,
      violations,
      mandatory: violations.filter((v) => v.enforcementLevel === "mandatory"),
      advisory: violations.filter((v) => v.enforcementLevel === "advisory"),
    };
  } finally {
    fs.rmSync(buildDir, { recursive: true, force: true });
  }
}

/**
 * One render of a config shared by several cases (a render takes seconds): each case gets
 * its own deep copy of the registered resources to change. Call `dispose` in afterAll.
 */
export async function sharedRender(rawConfig: RawConfig, previousOutputs?: Record<string, unknown>) {
  const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-policy-"));
  const render = await renderStackOffline({ projectDir: PROJECT_DIR, stack: "prod", rawConfig, buildDir, previousOutputs });
  return {
    render,
    buildDir,
    async check(mutate?: (resources: RegisteredResource[], buildDir: string) => void, evaluate?: EvaluateOptions): Promise<PolicyRun> {
      const resources = structuredClone(render.resources);
      mutate?.(resources, buildDir);
      const violations = await evaluatePolicies(resources, evaluate);
      return {
        render: { ...render, resources },
        violations,
        mandatory: violations.filter((v) => v.enforcementLevel === "mandatory"),
        advisory: violations.filter((v) => v.enforcementLevel === "advisory"),
      };
    },
    dispose: () => fs.rmSync(buildDir, { recursive: true, force: true }),
  };
}

/** The committed prod config, deep-copied. */
export function prodConfig(): RawConfig {
  return clone(stackConfig("prod"));
}

// Teams of a raw config, for edits.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function teamsOf(raw: RawConfig): Record<string, any> {
  return raw.teams as Record<string, Record<string, unknown>>;
}

/** Outputs of a last deployment in which each team had the given colour. */
export function deployedColours(colours: Record<string, "blue" | "green">): Record<string, unknown> {
  return { teams: Object.fromEntries(Object.entries(colours).map(([t, c]) => [t, { activeEnvironment: c }])) };
}

/** prod as deployed: the committed colours. */
export const PROD_DEPLOYED = { devops: "green", ma: "blue", ba: "blue", tw: "blue" } as const;

const MINUTE = 60_000;
export function minutesAgo(minutes: number): string {
  return new Date(Date.now() - minutes * MINUTE).toISOString();
}

/** A switch record as the orchestrator writes it, fresh and within budget. */
export function switchRecord(from: "blue" | "green", to: "blue" | "green", overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "sw-20250101-0001",
    requestedBy: "jenkins:infrastructure/switch#42",
    reason: "planned upgrade of the controller",
    from,
    to,
    backupId: "backup-devops-0001",
    backupVerifiedAt: minutesAgo(5),
    requestedAt: minutesAgo(6),
    mode: "safe",
    switchesLastHour: 0,
    switchesLastDay: 1,
    lastSwitchAt: minutesAgo(300),
    ...overrides,
  };
}

/** prod with devops switching blue -> green (last deployed blue), with the given record. */
export function devopsSwitch(record?: Record<string, unknown>): { raw: RawConfig; previousOutputs: Record<string, unknown> } {
  const raw = prodConfig();
  if (record) teamsOf(raw).devops.switchRecord = record;
  return { raw, previousOutputs: deployedColours({ ...PROD_DEPLOYED, devops: "blue" }) };
}

export function find(resources: RegisteredResource[], type: string, name: string): RegisteredResource {
  const found = resources.find((r) => r.type === type && r.name === name);
  if (!found) throw new Error(`no ${type} named ${name}`);
  return found;
}

export const CONTAINER = "docker:index/container:Container";
export const VOLUME = "docker:index/volume:Volume";

/** `policy: message` of each violation, for readable failure output. */
export function summary(violations: PolicyViolation[]): string[] {
  return violations.map((v) => `${v.policy} (${v.name ?? "stack"}): ${v.message}`);
}
