import * as pulumi from "@pulumi/pulumi";
import { loadPlatformModel, readPulumiConfig } from "./config/load";
import { COLOURS, Colour, PROJECT } from "./config/schema";
import { DeclarePlatformOptions, Platform, declarePlatform } from "./components/platform";

/** Reads every `jenkins-ha:*` key, including ones no schema knows (reported as unknown). */
function readStackConfig(): Record<string, unknown> {
  const config = new pulumi.Config(PROJECT);
  const raw = readPulumiConfig((key) => config.getObject(key));
  for (const key of Object.keys(pulumi.runtime.allConfig())) {
    const [ns, name] = key.split(":");
    if (ns !== PROJECT || name === undefined || name in raw) continue;
    const text = config.get(name);
    try {
      raw[name] = text === undefined ? undefined : JSON.parse(text);
    } catch {
      raw[name] = text;
    }
  }
  return raw;
}

/**
 * The colour each team had in the stack's last successful deployment, read from the stack's
 * own outputs (`teams.<t>.activeEnvironment`) through a StackReference to itself. A team
 * that was never deployed (or a stack never deployed) has no entry. The switch-record
 * policy compares it with the colour this deployment makes active: only the deployed
 * state, not config that the change itself edits, says whether this is a switch.
 */
export function lastDeployedEnvironments(): pulumi.Output<Record<string, Colour>> {
  const self = new pulumi.StackReference(`${PROJECT}-last-deployment`, {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  });
  return self.getOutput("teams").apply((teams: unknown) => {
    const colours: Record<string, Colour> = {};
    if (typeof teams !== "object" || teams === null) return colours;
    for (const [team, outputs] of Object.entries(teams as Record<string, unknown>)) {
      const colour = (outputs as { activeEnvironment?: unknown } | null)?.activeEnvironment;
      if (COLOURS.includes(colour as Colour)) colours[team] = colour as Colour;
    }
    return colours;
  });
}

/**
 * The jenkins-ha Pulumi program: stack config is validated (every problem at once, as a
 * ConfigValidationError) before any resource is declared, then the platform is declared.
 * `index.ts` runs it for `pulumi up`; the offline render runs the same function under mocks.
 */
export function program(options: DeclarePlatformOptions): Platform {
  const model = loadPlatformModel(pulumi.getStack(), readStackConfig());
  return declarePlatform(model, { lastDeployedEnvironments: lastDeployedEnvironments(), ...options });
}
