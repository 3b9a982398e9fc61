import { OperatorError } from "../cli/errors";

/** One planned step of a preview: what would happen to which resource. */
export interface PlannedStep {
  op: string;
  urn: string;
  type: string;
  /** Top-level input keys that change (the engine's `diffs`), when known. */
  diffs?: string[];
}

export interface PreviewOutcome {
  steps: PlannedStep[];
  /** Policy violations reported by the policy pack (mandatory ones make the preview fail). */
  policyViolations: Array<{ policy: string; message: string; level: string; urn?: string }>;
}

export interface UpOutcome {
  outputs: Record<string, unknown>;
}

/**
 * Everything the switch orchestrator asks of Pulumi: select a stack, read and write its
 * config, preview with the policy pack, update, read outputs. The real implementation is
 * `LocalWorkspaceStackOperations` (Automation API, needs the Pulumi CLI); tests use doubles
 * named as such.
 */
export interface StackOperations {
  readonly stackName: string;
  getConfig(path: string): Promise<string | undefined>;
  setConfig(path: string, value: string): Promise<void>;
  /** Writes a JSON value at a path (`pulumi config set --path ... --json`-like: objects as keys). */
  setConfigObject(path: string, value: Record<string, string | number | boolean>): Promise<void>;
  removeConfig(path: string): Promise<void>;
  preview(progress: (line: string) => void): Promise<PreviewOutcome>;
  up(progress: (line: string) => void): Promise<UpOutcome>;
  outputs(): Promise<Record<string, unknown>>;
}

/** Another `pulumi up` holds the stack; never retried behind the operator's back. */
export class ConcurrentUpdateRefused extends OperatorError {
  constructor(stack: string, cause?: unknown) {
    super(
      `another update is running on stack '${stack}'; wait for it to finish (or, if it died, run 'pulumi cancel -s ${stack}') and try again`,
      { cause },
    );
  }
}

/** The policy pack blocked the change. */
export class PolicyRefused extends OperatorError {
  constructor(violations: PreviewOutcome["policyViolations"]) {
    super(
      `the policy pack refused the change:\n${violations.map((v) => `  - [${v.policy}] ${v.message}`).join("\n")}`,
    );
  }
}
