import * as fs from "fs";
import * as path from "path";
import { renderStackOffline } from "../../automation/offline/render";
import { PolicyPackConfig, evaluatePolicies } from "../../automation/offline/policy";
import { RegisteredResource } from "../../automation/offline/runtime";
import {
  ConcurrentUpdateRefused,
  PlannedStep,
  PolicyRefused,
  PreviewOutcome,
  StackOperations,
  UpOutcome,
} from "../../automation/switch/stack-operations";
import { loadPlatformModel } from "../../config/load";
import { Colour, COLOURS } from "../../config/schema";
import { renderHaproxyConfig } from "../../render/haproxy";
import { HaproxyProcess } from "./haproxy";
import { StandInJenkins } from "./standin-jenkins";

type Json = Record<string, unknown>;

/** `pulumi config set --path` semantics: "true"/"false" are booleans, integers are numbers. */
function typedValue(value: string): unknown {
  if (value === "true") return true;
  if (value === "false") return false;
  if (/^-?\d+$/.test(value)) return Number(value);
  return value;
}

function walk(config: Json, keyPath: string, create: boolean): { parent: Json; key: string } | undefined {
  const parts = keyPath.split(".");
  let node: Json = config;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== "object" || node[part] === null) {
      if (!create) return undefined;
      node[part] = {};
    }
    node = node[part] as Json;
  }
  return { parent: node, key: parts[parts.length - 1] };
}

/** What a state file keeps, so a process killed mid-switch leaves its config behind (as Pulumi.<stack>.yaml would). */
interface PersistedState {
  config: Json;
  outputs: Record<string, unknown>;
  deployed: RegisteredResource[];
}

/**
 * TEST DOUBLE of StackOperations (not Pulumi). Config lives in memory with `--path`
 * semantics (and in `stateFile` when given, written at every change, so another process
 * can pick it up after this one is killed). `preview` runs the real program offline,
 * diffs what it registers against the last "deployed" run and evaluates the real policy
 * pack over it; `up` does the same (a mandatory violation fails both, as with
 * `--policy-pack`) and then applies the parts a test can apply for real: the rendered
 * haproxy.cfg is installed and the real HAProxy reloaded (state saved, SIGUSR2), and
 * stand-in backends are started or stopped as the program's `running` outputs say.
 * Containers, images and volumes are not created. Like the Pulumi engine, it refuses a
 * second preview/up while one runs on the stack (ConcurrentUpdateRefused).
 */
export class TestDoubleStackOperations implements StackOperations {
  readonly stackName: string;
  config: Json;
  private deployed = new Map<string, RegisteredResource>();
  /** Outputs of the last `up`: the program reads the colour last deployed from them. */
  private lastOutputs: Record<string, unknown> = {};
  /** The operation holding the stack (what the Pulumi service's update lock does). */
  private running?: string;
  ups = 0;
  previews = 0;
  /** Injected failure for a test: thrown by the next `up` (once). */
  failNextUp?: Error;
  /** `--policy-pack-config` of the pack the double evaluates (a test may tighten it). */
  policyPackConfig?: PolicyPackConfig;
  /** Extra planned steps a test injects into the next preview (e.g. a change outside the team). */
  injectSteps: PlannedStep[] = [];

  constructor(
    private readonly options: {
      projectDir: string;
      stack: string;
      config: Json;
      haproxy: HaproxyProcess;
      runtimeDir: string;
      statsPasswordHash: string;
      backends: Map<string, StandInJenkins>;
      buildDir: string;
      /** `--policy-pack-config` for the pack the double evaluates. */
      policyPackConfig?: PolicyPackConfig;
      /** Config, outputs and deployed resources are kept here (and read from it when it exists). */
      stateFile?: string;
    },
  ) {
    this.stackName = options.stack;
    this.policyPackConfig = options.policyPackConfig;
    this.config = JSON.parse(JSON.stringify(options.config)) as Json;
    if (options.stateFile && fs.existsSync(options.stateFile)) {
      const state = JSON.parse(fs.readFileSync(options.stateFile, "utf8")) as PersistedState;
      this.config = state.config;
      this.lastOutputs = state.outputs;
      this.deployed = new Map(state.deployed.map((r) => [r.urn, r]));
    }
  }

  private persist(): void {
    if (!this.options.stateFile) return;
    const state: PersistedState = { config: this.config, outputs: this.lastOutputs, deployed: [...this.deployed.values()] };
    const tmp = `${this.options.stateFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state));
    fs.renameSync(tmp, this.options.stateFile);
  }

  private async exclusively<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (this.running) throw new ConcurrentUpdateRefused(this.stackName, new Error(`test double: ${this.running} is running`));
    this.running = operation;
    try {
      return await work();
    } finally {
      this.running = undefined;
    }
  }

  private async policyGate(resources: RegisteredResource[]) {
    const violations = await evaluatePolicies(resources, { config: this.policyPackConfig });
    const mapped = violations.map((v) => ({ policy: v.policy, message: v.message, level: v.enforcementLevel, urn: v.urn }));
    const mandatory = mapped.filter((v) => v.level === "mandatory");
    if (mandatory.length > 0) throw new PolicyRefused(mandatory);
    return mapped;
  }

  async getConfig(keyPath: string): Promise<string | undefined> {
    const at = walk(this.config, keyPath, false);
    const value = at?.parent[at.key];
    return value === undefined ? undefined : typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  async setConfig(keyPath: string, value: string): Promise<void> {
    const at = walk(this.config, keyPath, true)!;
    at.parent[at.key] = typedValue(value);
    this.persist();
  }

  async setConfigObject(keyPath: string, value: Record<string, string | number | boolean>): Promise<void> {
    for (const [k, v] of Object.entries(value)) await this.setConfig(`${keyPath}.${k}`, String(v));
  }

  async removeConfig(keyPath: string): Promise<void> {
    const at = walk(this.config, keyPath, false);
    if (at) delete at.parent[at.key];
    this.persist();
  }

  private async runProgram() {
    return renderStackOffline({
      projectDir: this.options.projectDir,
      stack: this.stackName,
      rawConfig: this.config,
      buildDir: this.options.buildDir,
      previousOutputs: this.lastOutputs,
    });
  }

  private diff(resources: RegisteredResource[]): PlannedStep[] {
    const steps: PlannedStep[] = [];
    const seen = new Set<string>();
    for (const r of resources) {
      seen.add(r.urn);
      const old = this.deployed.get(r.urn);
      const op = !old ? "create" : JSON.stringify(old.inputs) === JSON.stringify(r.inputs) ? "same" : "update";
      const diffs =
        op === "update"
          ? [...new Set([...Object.keys(old!.inputs), ...Object.keys(r.inputs)])].filter((k) => JSON.stringify(old!.inputs[k]) !== JSON.stringify(r.inputs[k]))
          : undefined;
      steps.push({ op, urn: r.urn, type: r.type, ...(diffs ? { diffs } : {}) });
    }
    for (const [urn, old] of this.deployed) if (!seen.has(urn)) steps.push({ op: "delete", urn, type: old.type });
    return steps;
  }

  /** Records the current program as deployed without applying anything (the starting state). */
  async baseline(): Promise<void> {
    // Twice: the program reads the colour last deployed from the previous outputs, so the
    // steady state is the run after one that already had outputs.
    this.lastOutputs = (await this.runProgram()).outputs as Record<string, unknown>;
    const result = await this.runProgram();
    this.deployed = new Map(result.resources.map((r) => [r.urn, r]));
    this.lastOutputs = result.outputs as Record<string, unknown>;
    this.persist();
  }

  preview(progress: (line: string) => void): Promise<PreviewOutcome> {
    return this.exclusively("preview", async () => {
      this.previews++;
      const result = await this.runProgram();
      const steps = [...this.diff(result.resources), ...this.injectSteps];
      this.injectSteps = [];
      progress(`test double preview: ${steps.filter((s) => s.op !== "same").length} changes`);
      return { steps, policyViolations: await this.policyGate(result.resources) };
    });
  }

  up(progress: (line: string) => void): Promise<UpOutcome> {
    return this.exclusively("update", () => this.applyUp(progress));
  }

  private async applyUp(progress: (line: string) => void): Promise<UpOutcome> {
    if (this.failNextUp) {
      const err = this.failNextUp;
      this.failNextUp = undefined;
      throw err;
    }
    const result = await this.runProgram();
    await this.policyGate(result.resources);
    this.ups++;
    // Apply what can be applied for real: HAProxy config + seamless reload, backends.
    const model = loadPlatformModel(this.stackName, this.config);
    const text = renderHaproxyConfig(model, { statsPasswordHash: this.options.statsPasswordHash, runtimeDir: this.options.runtimeDir });
    fs.writeFileSync(path.join(this.options.runtimeDir, "haproxy.cfg"), text);
    await this.options.haproxy.reload();
    for (const team of model.teams) {
      for (const colour of COLOURS) {
        const backend = this.options.backends.get(`${team.name}/${colour}`);
        if (!backend) continue;
        if (team.colours[colour as Colour].running) await backend.start().catch(() => undefined);
        else await backend.stop();
      }
    }
    this.deployed = new Map(result.resources.map((r) => [r.urn, r]));
    this.lastOutputs = result.outputs as Record<string, unknown>;
    this.persist();
    progress(`test double up #${this.ups}: haproxy reloaded`);
    return { outputs: result.outputs as Record<string, unknown> };
  }

  async outputs(): Promise<Record<string, unknown>> {
    return (await this.runProgram()).outputs as Record<string, unknown>;
  }
}
