import * as path from "path";
import { ConcurrentUpdateError, EngineEvent, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { OperatorError } from "../cli/errors";
import {
  ConcurrentUpdateRefused,
  PlannedStep,
  PolicyRefused,
  PreviewOutcome,
  StackOperations,
  UpOutcome,
} from "./stack-operations";

/** The Automation API could not open the stack: no Pulumi CLI, not logged in, no such stack. */
export class WorkspaceUnavailable extends OperatorError {}

/**
 * One line an operator can act on, instead of the Automation API's multi-line dump of the
 * CLI's stdout and stderr.
 */
export function workspaceUnavailable(err: unknown, stackName: string, projectDir: string): WorkspaceUnavailable {
  const text = err instanceof Error ? err.message : String(err);
  if (/ENOENT/.test(text) && /\bpulumi\b/.test(text)) {
    return new WorkspaceUnavailable(
      `the Pulumi CLI is not on this machine's PATH (spawn pulumi ENOENT); install it where switches run (https://www.pulumi.com/docs/install/), log in to the backend (PULUMI_BACKEND_URL) and provide PULUMI_CONFIG_PASSPHRASE[_FILE]`,
      { cause: err },
    );
  }
  const stderr = /stderr:\s*([^\n]*\S[^\n]*)/.exec(text)?.[1]?.trim();
  return new WorkspaceUnavailable(`cannot select stack '${stackName}' in ${projectDir}: ${stderr ?? text.split("\n")[0]}`, { cause: err });
}

/**
 * The real StackOperations: the Automation API's LocalWorkspace over this project
 * directory, with the policy pack in `policy/`. Backend and secrets come from the
 * environment as for the CLI (PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE[_FILE]).
 * Needs the Pulumi CLI on PATH.
 */
export class LocalWorkspaceStackOperations implements StackOperations {
  private constructor(
    private readonly stack: Stack,
    readonly stackName: string,
    private readonly policyPack: string,
    private readonly policyPackConfigs: string[],
  ) {}

  static async select(options: {
    projectDir: string;
    stackName: string;
    policyPackDir?: string;
    policyPackConfigs?: string[];
  }): Promise<LocalWorkspaceStackOperations> {
    let stack: Stack;
    try {
      stack = await LocalWorkspace.selectStack({ stackName: options.stackName, workDir: options.projectDir });
    } catch (err) {
      throw workspaceUnavailable(err, options.stackName, options.projectDir);
    }
    return new LocalWorkspaceStackOperations(
      stack,
      options.stackName,
      options.policyPackDir ?? path.join(options.projectDir, "policy"),
      options.policyPackConfigs ?? [],
    );
  }

  async getConfig(key: string): Promise<string | undefined> {
    try {
      return (await this.stack.getConfig(key, true)).value;
    } catch {
      return undefined;
    }
  }

  async setConfig(key: string, value: string): Promise<void> {
    await this.stack.setConfig(key, { value }, true);
  }

  async setConfigObject(key: string, value: Record<string, string | number | boolean>): Promise<void> {
    const entries = Object.fromEntries(Object.entries(value).map(([k, v]) => [`${key}.${k}`, { value: String(v) }]));
    await this.stack.setAllConfig(entries, true);
  }

  async removeConfig(key: string): Promise<void> {
    await this.stack.removeConfig(key, true);
  }

  async preview(progress: (line: string) => void): Promise<PreviewOutcome> {
    const steps: PlannedStep[] = [];
    const policyViolations: PreviewOutcome["policyViolations"] = [];
    const onEvent = (event: EngineEvent) => {
      const meta = event.resourcePreEvent?.metadata;
      if (meta) steps.push({ op: meta.op, urn: meta.urn, type: meta.type, ...(meta.diffs ? { diffs: meta.diffs } : {}) });
      const violation = event.policyEvent;
      if (violation) {
        policyViolations.push({
          policy: violation.policyName,
          message: violation.message,
          level: violation.enforcementLevel,
          urn: violation.resourceUrn,
        });
      }
    };
    try {
      await this.stack.preview({
        policyPacks: [this.policyPack],
        policyPackConfigs: this.policyPackConfigs,
        onOutput: progress,
        onEvent,
      });
    } catch (err) {
      if (err instanceof ConcurrentUpdateError) throw new ConcurrentUpdateRefused(this.stackName, err);
      const mandatory = policyViolations.filter((v) => v.level === "mandatory");
      if (mandatory.length > 0) throw new PolicyRefused(mandatory);
      throw err;
    }
    return { steps, policyViolations };
  }

  async up(progress: (line: string) => void): Promise<UpOutcome> {
    try {
      const result = await this.stack.up({ policyPacks: [this.policyPack], policyPackConfigs: this.policyPackConfigs, onOutput: progress });
      return { outputs: Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.value])) };
    } catch (err) {
      if (err instanceof ConcurrentUpdateError) throw new ConcurrentUpdateRefused(this.stackName, err);
      throw err;
    }
  }

  async outputs(): Promise<Record<string, unknown>> {
    const outputs = await this.stack.outputs();
    return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value]));
  }
}
