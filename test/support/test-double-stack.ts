import * as fs from "fs";
import * as path from "path";
import { renderStackOffline } from "../../automation/offline/render";
import { RegisteredResource } from "../../automation/offline/runtime";
import { PlannedStep, PreviewOutcome, StackOperations, UpOutcome } from "../../automation/switch/stack-operations";
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

/**
 * TEST DOUBLE of StackOperations (not Pulumi). Config lives in memory with `--path`
 * semantics. `preview` runs the real program offline and diffs what it registers against
 * the last "deployed" run; `up` does the same and then applies the parts a test can apply
 * for real: the rendered haproxy.cfg is installed and the real HAProxy reloaded (state
 * saved, SIGUSR2), and stand-in backends are started or stopped as the program's
 * `running` outputs say. Containers, images and volumes are not created.
 */
export class TestDoubleStackOperations implements StackOperations {
  readonly stackName: string;
  config: Json;
  private deployed = new Map<string, RegisteredResource>();
  ups = 0;
  /** Injected failure for a test: thrown by the next `up` (once). */
  failNextUp?: Error;
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
    },
  ) {
    this.stackName = options.stack;
    this.config = JSON.parse(JSON.stringify(options.config)) as Json;
  }

  async getConfig(keyPath: string): Promise<string | undefined> {
    const at = walk(this.config, keyPath, false);
    const value = at?.parent[at.key];
    return value === undefined ? undefined : typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  async setConfig(keyPath: string, value: string): Promise<void> {
    const at = walk(this.config, keyPath, true)!;
    at.parent[at.key] = typedValue(value);
  }

  async setConfigObject(keyPath: string, value: Record<string, string | number | boolean>): Promise<void> {
    for (const [k, v] of Object.entries(value)) await this.setConfig(`${keyPath}.${k}`, String(v));
  }

  async removeConfig(keyPath: string): Promise<void> {
    const at = walk(this.config, keyPath, false);
    if (at) delete at.parent[at.key];
  }

  private async runProgram() {
    return renderStackOffline({ projectDir: this.options.projectDir, stack: this.stackName, rawConfig: this.config, buildDir: this.options.buildDir });
  }

  private diff(resources: RegisteredResource[]): PlannedStep[] {
    const steps: PlannedStep[] = [];
    const seen = new Set<string>();
    for (const r of resources) {
      seen.add(r.urn);
      const old = this.deployed.get(r.urn);
      const op = !old ? "create" : JSON.stringify(old.inputs) === JSON.stringify(r.inputs) ? "same" : "update";
      steps.push({ op, urn: r.urn, type: r.type });
    }
    for (const [urn, old] of this.deployed) if (!seen.has(urn)) steps.push({ op: "delete", urn, type: old.type });
    return steps;
  }

  /** Records the current program as deployed without applying anything (the starting state). */
  async baseline(): Promise<void> {
    const result = await this.runProgram();
    this.deployed = new Map(result.resources.map((r) => [r.urn, r]));
  }

  async preview(progress: (line: string) => void): Promise<PreviewOutcome> {
    const result = await this.runProgram();
    const steps = [...this.diff(result.resources), ...this.injectSteps];
    this.injectSteps = [];
    progress(`test double preview: ${steps.filter((s) => s.op !== "same").length} changes`);
    return { steps, policyViolations: [] };
  }

  async up(progress: (line: string) => void): Promise<UpOutcome> {
    if (this.failNextUp) {
      const err = this.failNextUp;
      this.failNextUp = undefined;
      throw err;
    }
    const result = await this.runProgram();
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
    progress(`test double up #${this.ups}: haproxy reloaded`);
    return { outputs: result.outputs as Record<string, unknown> };
  }

  async outputs(): Promise<Record<string, unknown>> {
    return (await this.runProgram()).outputs as Record<string, unknown>;
  }
}
