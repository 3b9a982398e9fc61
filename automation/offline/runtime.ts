import * as pulumi from "@pulumi/pulumi";
import { MockMonitor, MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime/mocks";

/**
 * The SDK's internal runtime store. `setMocks` sets its feature flags; its typings do not
 * export `getStore`, so it is reached through require with a narrow type.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { getStore } = require("@pulumi/pulumi/runtime/state") as { getStore(): Record<string, unknown> };

/** The marker Pulumi's wire format puts on a secret value. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";
export const REDACTED = "[secret]";
/** What `pulumi.getOrganization()` returns with a DIY (file) backend. */
export const OFFLINE_ORGANIZATION = "organization";

/** One resource as the program registered it: what `pulumi preview` would be asked to create. */
export interface RegisteredResource {
  urn: string;
  type: string;
  name: string;
  /** URN of the parent resource ("" for top-level resources). */
  parent: string;
  /** Provider reference (`<urn>::<id>`), "" for the default provider. */
  provider: string;
  custom: boolean;
  protect: boolean;
  retainOnDelete: boolean;
  dependencies: string[];
  /** Inputs with secrets unwrapped, for policy evaluation. Never written to disk. */
  inputs: Record<string, unknown>;
  /** Inputs with every secret replaced by "[secret]", safe to print and to write. */
  redactedInputs: Record<string, unknown>;
  /** Top-level input names whose value is (or contains) a secret. */
  secretInputs: string[];
}

/**
 * Offline stand-ins for what providers compute at deploy time. Nothing here pretends to be
 * a deployment: values are recognisable placeholders.
 */
function computedState(args: MockResourceArgs, previousOutputs: Record<string, unknown>): Record<string, unknown> {
  switch (args.type) {
    // The program reads its own stack's last outputs (the colour last deployed, for the
    // switch-record policy); offline, they are whatever the caller says was deployed.
    case "pulumi:pulumi:StackReference":
      return { name: args.inputs.name, outputs: previousOutputs, secretOutputNames: [] };
    case "random:index/randomPassword:RandomPassword":
      return {
        ...args.inputs,
        result: "offline-render-placeholder",
        // A syntactically valid bcrypt string, so renderers that embed a hash produce a file
        // `haproxy -c` accepts; no password matches it.
        bcryptHash: "$2b$10$offlinerenderplaceholderhashXXXXXXXXXXXXXXXXXXXXXXXXX",
      };
    case "docker:index/image:Image":
      return { ...args.inputs, repoDigest: `${String(args.inputs.imageName)}@sha256:offline`, baseImageName: args.inputs.imageName };
    default:
      return { ...args.inputs };
  }
}

function isSecretWrapper(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG_VALUE;
}

/** Unwraps (keepSecrets=false) or redacts (true) secrets in a wire-format value. */
function transform(value: unknown, redact: boolean): unknown {
  if (isSecretWrapper(value)) return redact ? REDACTED : transform(value.value, redact);
  if (Array.isArray(value)) return value.map((v) => transform(v, redact));
  if (typeof value === "object" && value !== null) {
    if ((value as Record<string, unknown>)[SECRET_SIG_KEY] !== undefined) return redact ? "[resource]" : value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, transform(v, redact)]));
  }
  return value;
}

function containsSecret(value: unknown): boolean {
  if (isSecretWrapper(value)) return true;
  if (Array.isArray(value)) return value.some(containsSecret);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsSecret);
  return false;
}

/**
 * A MockMonitor that also records what the real engine would see of each registration:
 * parent, provider, protect, retainOnDelete and which inputs are secret. `setMocks` alone
 * hides those, and the policy pack needs them.
 */
export class RecordingMonitor extends MockMonitor {
  readonly registered: RegisteredResource[] = [];
  private pending = 0;

  /** @param previousOutputs stack outputs of the "last deployment" ({} = never deployed). */
  constructor(previousOutputs: Record<string, unknown> = {}) {
    super({
      newResource: (args: MockResourceArgs): MockResourceResult => ({
        id: args.custom === false ? undefined : `${args.name}-offline-id`,
        state: computedState(args, previousOutputs),
      }),
      call: (args) => {
        throw new Error(`offline render: function ${args.token} is not available without a deployment`);
      },
    });
  }

  // The request is a generated protobuf class that the SDK types as `any`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override async registerResource(req: any, callback: (err: any, response: any) => void): Promise<void> {
    this.pending++;
    const wire = (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
    const type: string = req.getType();
    const name: string = req.getName();
    try {
      await super.registerResource(req, (err: unknown, response: { getUrn(): string } | undefined) => {
        if (!err && response) {
          this.registered.push({
            urn: response.getUrn(),
            type,
            name,
            parent: req.getParent() ?? "",
            provider: req.getProvider() ?? "",
            custom: req.getCustom() === true,
            protect: req.getProtect() === true,
            retainOnDelete: req.getRetainondelete() === true,
            dependencies: req.getDependenciesList() ?? [],
            inputs: transform(wire, false) as Record<string, unknown>,
            redactedInputs: transform(wire, true) as Record<string, unknown>,
            secretInputs: Object.entries(wire).filter(([, v]) => containsSecret(v)).map(([k]) => k),
          });
        }
        callback(err, response);
      });
    } finally {
      this.pending--;
    }
  }

  /** Resolves once no registration has been in flight for a few event-loop turns. */
  async idle(): Promise<void> {
    for (let quietTurns = 0; quietTurns < 5; ) {
      await new Promise((r) => setTimeout(r, 5));
      quietTurns = this.pending === 0 ? quietTurns + 1 : 0;
    }
  }
}

/**
 * Resolves every Output inside a value (objects, arrays) to plain data; with `redact`,
 * secret Outputs become "[secret]".
 */
export async function settle(value: unknown, redact = false): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    const output = value as pulumi.Output<unknown>;
    if (redact && (await pulumi.isSecret(output))) return REDACTED;
    const inner = await new Promise<unknown>((resolve) => output.apply((v) => resolve(v)));
    return settle(inner, redact);
  }
  if (value instanceof Promise) return settle(await value, redact);
  if (Array.isArray(value)) return Promise.all(value.map((v) => settle(v, redact)));
  if (typeof value === "object" && value !== null && !pulumi.Resource.isInstance(value)) {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await settle(v, redact)] as const));
    return Object.fromEntries(entries);
  }
  return value;
}

export interface OfflineRun<T> {
  resources: RegisteredResource[];
  /** What the program returned, with Outputs resolved (secrets unwrapped: keep in memory). */
  result: T;
}

/**
 * Runs a Pulumi program function under a recording mock monitor with the given stack
 * config (`<project>:<key>` -> string). Nothing is created anywhere.
 */
export async function runOffline<T>(options: {
  project: string;
  stack: string;
  config: Record<string, string>;
  program: () => T | Promise<T>;
  /** Outputs of the stack's previous deployment, as a StackReference to itself reads them. */
  previousOutputs?: Record<string, unknown>;
}): Promise<OfflineRun<Awaited<T>>> {
  const monitor = new RecordingMonitor(options.previousOutputs);
  // What `setMocks` does, with our recording monitor in place of its plain one. The
  // organization is the DIY backend's constant, so `pulumi.getOrganization()` works offline.
  pulumi.runtime.setMockOptions(monitor, options.project, options.stack, false, OFFLINE_ORGANIZATION);
  Object.assign(getStore(), {
    supportsSecrets: true,
    supportsResourceReferences: true,
    supportsOutputValues: false,
    supportsDeletedWith: true,
    supportsAliasSpecs: true,
    supportsTransforms: false,
  });
  pulumi.runtime.setAllConfig(options.config);
  const returned = await options.program();
  await settle(returned);
  await monitor.idle();
  return { resources: [...monitor.registered], result: returned as Awaited<T> };
}
