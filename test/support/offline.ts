import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RenderResult, renderStackOffline } from "../../automation/offline/render";
import { RegisteredResource } from "../../automation/offline/runtime";
import { PROJECT_DIR } from "./stacks";

/** Runs the real program offline for a raw config; build contexts go to a temp dir. */
export async function renderConfig(stack: string, rawConfig: Record<string, unknown>): Promise<RenderResult> {
  const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-build-"));
  try {
    return await renderStackOffline({ projectDir: PROJECT_DIR, stack, rawConfig, buildDir });
  } finally {
    fs.rmSync(buildDir, { recursive: true, force: true });
  }
}

/** The one resource of a type token with a name; fails loudly when absent or ambiguous. */
export function resource(resources: RegisteredResource[], type: string, name: string): RegisteredResource {
  const found = resources.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) {
    const names = resources.filter((r) => r.type === type).map((r) => r.name);
    throw new Error(`expected one ${type} named ${name}, found ${found.length}; ${type} names: ${names.join(", ")}`);
  }
  return found[0];
}

export function ofType(resources: RegisteredResource[], type: string): RegisteredResource[] {
  return resources.filter((r) => r.type === type);
}
