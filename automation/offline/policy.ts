import {
  EnforcementLevel,
  Policies,
  Policy,
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { policies as packPolicies } from "../../policy/policies";
import { RegisteredResource } from "./runtime";

/**
 * The offline policy check: the pack's own policy objects evaluated over the resources the
 * real program registered under the offline runtime, with the arguments the CrossGuard
 * analyzer would build (`ResourceValidationArgs` per resource, one `StackValidationArgs`).
 *
 * What differs from `pulumi preview --policy-pack policy`, and why it is acceptable:
 * - props are the registered inputs for stack policies too (the engine passes outputs;
 *   for the inputs these policies read, Docker and Command echo them back);
 * - `opts` additionally carries `retainOnDelete` (the engine's 1.21 API does not), so the
 *   offline check is stricter there;
 * - nothing is unknown offline, so no policy is skipped as "can't run during preview".
 */

export interface PolicyViolation {
  policy: string;
  enforcementLevel: "advisory" | "mandatory";
  /** Resource the violation is about; absent when a stack policy blames the whole stack. */
  urn?: string;
  /** Its logical name (the last URN segment). */
  name?: string;
  type?: string;
  message: string;
}

/** Per-policy config, as in a `pulumi preview --policy-pack-config` file. */
export type PolicyPackConfig = Record<string, EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)>;

export interface EvaluateOptions {
  config?: PolicyPackConfig;
  /** Default: every policy of the pack (`policy/policies.ts`). */
  policies?: Policies;
  /** The pack's default enforcement level (policy/index.ts). */
  packEnforcementLevel?: EnforcementLevel;
}

class NotApplicable extends Error {}

function isResourcePolicy(p: Policy): p is ResourceValidationPolicy {
  return "validateResource" in p && p.validateResource !== undefined;
}

function isStackPolicy(p: Policy): p is StackValidationPolicy {
  return typeof (p as StackValidationPolicy).validateStack === "function";
}

/** Enforcement level as the analyzer computes it: config, then the policy, then the pack. */
function levelOf(policy: Policy, options: EvaluateOptions): EnforcementLevel {
  const configured = options.config?.[policy.name];
  const fromConfig = typeof configured === "string" ? configured : configured?.enforcementLevel;
  return fromConfig ?? policy.enforcementLevel ?? options.packEnforcementLevel ?? "mandatory";
}

/** The policy's config: its configSchema defaults, overridden by the given config. */
export function policyConfig(policy: Policy, config: PolicyPackConfig | undefined): Record<string, unknown> {
  const defaults: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
    if (typeof schema === "object" && schema.default !== undefined) defaults[key] = schema.default;
  }
  const given = config?.[policy.name];
  if (given === undefined || typeof given === "string") return defaults;
  // The engine keeps enforcementLevel apart from the policy's own config.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { enforcementLevel: _level, ...properties } = given;
  return { ...defaults, ...properties };
}

/** `isType` as @pulumi/policy does it: the class's type token, else its `isInstance`. */
function isTypeOf(type: string, resourceClass: unknown): boolean {
  const token = (resourceClass as { __pulumiType?: unknown }).__pulumiType;
  if (typeof token === "string" && token.length > 0) return token === type;
  const isInstance = (resourceClass as { isInstance?: (o: unknown) => boolean }).isInstance;
  return typeof isInstance === "function" && isInstance({ __pulumiType: type });
}

/** `<urn>::<id>` (how a registration names its provider) -> the provider's URN. */
function providerUrnOf(reference: string): string {
  return reference === "" ? "" : reference.slice(0, reference.lastIndexOf("::"));
}

function optionsOf(r: RegisteredResource): PolicyResourceOptions & { retainOnDelete: boolean; provider?: string } {
  return {
    protect: r.protect,
    retainOnDelete: r.retainOnDelete,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
    ...(r.parent ? { parent: r.parent } : {}),
    ...(r.provider ? { provider: r.provider } : {}),
  };
}

/** Deep copy, so a policy that mutates its props cannot change what the next one sees. */
function copy<T>(value: T): T {
  return structuredClone(value);
}

const NO_TAGS: ReadonlyMap<string, string> = new Map();

function providerResourceOf(r: RegisteredResource, byUrn: Map<string, RegisteredResource>): PolicyProviderResource | undefined {
  const provider = byUrn.get(providerUrnOf(r.provider));
  if (!provider) return undefined;
  return { type: provider.type, props: copy(provider.inputs), urn: provider.urn, name: provider.name };
}

/** The `ResourceValidationArgs` the analyzer would pass for one registered resource. */
export function resourceValidationArgs(
  r: RegisteredResource,
  policy: Policy,
  context: { byUrn: Map<string, RegisteredResource>; config?: PolicyPackConfig },
): ResourceValidationArgs {
  const props = copy(r.inputs);
  const provider = providerResourceOf(r, context.byUrn);
  return {
    type: r.type,
    props,
    urn: r.urn,
    name: r.name,
    opts: optionsOf(r),
    ...(provider ? { provider } : {}),
    stackTags: NO_TAGS,
    isType: (resourceClass) => isTypeOf(r.type, resourceClass),
    // The analyzer hands back the props themselves; the return type is the SDK's resolved
    // resource shape, which plain props satisfy structurally but not nominally.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    asType: ((resourceClass: unknown) => (isTypeOf(r.type, resourceClass) ? props : undefined)) as any,
    getConfig: <T extends object>() => policyConfig(policy, context.config) as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
  };
}

/** The `StackValidationArgs` the analyzer would pass, with parents and dependencies linked. */
export function stackValidationArgs(resources: RegisteredResource[], policy: Policy, config?: PolicyPackConfig): StackValidationArgs {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const policyResources = new Map<string, PolicyResource>();
  for (const r of resources) {
    const props = copy(r.inputs);
    const provider = providerResourceOf(r, byUrn);
    policyResources.set(r.urn, {
      type: r.type,
      props,
      urn: r.urn,
      name: r.name,
      opts: optionsOf(r),
      ...(provider ? { provider } : {}),
      dependencies: [],
      // Not recorded by the offline runtime; no policy of the pack reads it.
      propertyDependencies: {},
      isType: (resourceClass) => isTypeOf(r.type, resourceClass),
      // See resourceValidationArgs.asType.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      asType: ((resourceClass: unknown) => (isTypeOf(r.type, resourceClass) ? props : undefined)) as any,
    });
  }
  for (const r of resources) {
    const pr = policyResources.get(r.urn)!;
    const parent = policyResources.get(r.parent);
    if (parent) pr.parent = parent;
    pr.dependencies = r.dependencies.map((d) => policyResources.get(d)).filter((d): d is PolicyResource => d !== undefined);
  }
  return {
    resources: [...policyResources.values()],
    stackTags: NO_TAGS,
    getConfig: <T extends object>() => policyConfig(policy, config) as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
  };
}

function nameOfUrn(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/**
 * Runs every policy (resource policies on every resource, stack policies once) and returns
 * every violation. A policy that throws is a bug in the pack: the error propagates.
 */
export async function evaluatePolicies(resources: RegisteredResource[], options: EvaluateOptions = {}): Promise<PolicyViolation[]> {
  const violations: PolicyViolation[] = [];
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  for (const policy of options.policies ?? packPolicies) {
    let level = levelOf(policy, options);
    if (level === "disabled") continue;
    // As the analyzer does: a violation that survives remediation is mandatory.
    if (level === "remediate") level = "mandatory";
    const enforcementLevel = level;
    const collect = (fallbackUrn?: string): ReportViolation => (message: string, urn?: string) => {
      const at = urn ?? fallbackUrn;
      violations.push({
        policy: policy.name,
        enforcementLevel,
        ...(at ? { urn: at, name: nameOfUrn(at), type: byUrn.get(at)?.type } : {}),
        message,
      });
    };
    if (isResourcePolicy(policy)) {
      const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
      for (const r of resources) {
        for (const validate of validations) {
          try {
            // A resource policy's violation is always about the resource being validated.
            await validate(resourceValidationArgs(r, policy, { byUrn, config: options.config }), (message) => collect(r.urn)(message));
          } catch (err) {
            if (!(err instanceof NotApplicable)) throw err;
          }
        }
      }
    }
    if (isStackPolicy(policy)) {
      try {
        await policy.validateStack(stackValidationArgs(resources, policy, options.config), collect());
      } catch (err) {
        if (!(err instanceof NotApplicable)) throw err;
      }
    }
  }
  return violations;
}

/** Mandatory violations first, then advisory; each group in evaluation order. */
export function sortViolations(violations: PolicyViolation[]): PolicyViolation[] {
  const order = (v: PolicyViolation) => (v.enforcementLevel === "mandatory" ? 0 : 1);
  return [...violations].sort((a, b) => order(a) - order(b));
}

/** `[mandatory] policy  <type> <name>: message` (`stack` when no resource is blamed). */
export function formatViolation(v: PolicyViolation): string {
  return `[${v.enforcementLevel}] ${v.policy}  ${v.name ? `${v.type ?? "resource"} ${v.name}` : "stack"}: ${v.message}`;
}
