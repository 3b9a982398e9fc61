import * as pulumi from "@pulumi/pulumi";
import { loadPlatformModel, readPulumiConfig } from "./config/load";
import { PROJECT } from "./config/schema";
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
 * The jenkins-ha Pulumi program: stack config is validated (every problem at once, as a
 * ConfigValidationError) before any resource is declared, then the platform is declared.
 * `index.ts` runs it for `pulumi up`; the offline render runs the same function under mocks.
 */
export function program(options: DeclarePlatformOptions): Platform {
  const model = loadPlatformModel(pulumi.getStack(), readStackConfig());
  return declarePlatform(model, options);
}
