import * as fs from "fs";
import * as path from "path";
import { loadPlatformModel, readStackFile, stackFilePath, toPulumiConfigMap } from "../../config/load";
import { PROJECT } from "../../config/schema";
import { PlatformModel } from "../../config/model";
import { Platform } from "../../components/platform";
import { program } from "../../program";
import { RegisteredResource, runOffline, settle } from "./runtime";

export interface RenderResult {
  model: PlatformModel;
  resources: RegisteredResource[];
  platform: Platform;
  /** Generated files (relative path -> text). */
  files: Record<string, string>;
  /** Stack outputs with secrets redacted. */
  outputs: unknown;
}

/**
 * Runs the real program for a stack under the offline runtime: config is validated first
 * (a ConfigValidationError lists every problem), nothing is created anywhere.
 */
export async function renderStackOffline(options: {
  projectDir: string;
  stack: string;
  /** Raw `jenkins-ha:*` config; read from `Pulumi.<stack>.yaml` when absent. */
  rawConfig?: Record<string, unknown>;
  /** Where image build contexts go (default: a temp dir is NOT used; `<out>/build`). */
  buildDir: string;
  /**
   * Stack outputs of the previous deployment (e.g. an earlier render's `outputs.json`); the
   * program reads `teams.<t>.activeEnvironment` from them as the colour last deployed.
   * Absent: a stack never deployed.
   */
  previousOutputs?: Record<string, unknown>;
}): Promise<RenderResult> {
  const raw = options.rawConfig ?? readStackFile(stackFilePath(options.projectDir, options.stack));
  const model = loadPlatformModel(options.stack, raw);
  const run = await runOffline({
    project: PROJECT,
    stack: options.stack,
    config: toPulumiConfigMap(raw),
    program: () => program({ projectDir: options.projectDir, buildDir: options.buildDir }),
    previousOutputs: options.previousOutputs,
  });
  const platform = run.result;
  const files = (await settle(platform.files)) as Record<string, string>;
  const outputs = await settle(platform.outputs, true);
  return { model, resources: run.resources, platform, files, outputs };
}

/** Writes the generated files, `resources.json` and `outputs.json` under `outDir`. */
export function writeRenderOutput(outDir: string, result: RenderResult): string[] {
  const written: string[] = [];
  const write = (relative: string, content: string) => {
    const file = path.join(outDir, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    written.push(relative);
  };
  for (const [relative, content] of Object.entries(result.files).sort(([a], [b]) => a.localeCompare(b))) {
    write(relative, content);
  }
  const resources = result.resources.map((r) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
    parent: r.parent || null,
    provider: r.provider || null,
    protect: r.protect,
    retainOnDelete: r.retainOnDelete,
    inputs: r.redactedInputs,
  }));
  write("resources.json", `${JSON.stringify(resources, null, 2)}\n`);
  write("outputs.json", `${JSON.stringify(result.outputs, null, 2)}\n`);
  return written;
}
