import * as path from "path";
import { Command } from "commander";
import { ConfigValidationError } from "../../config/problems";
import { renderStackOffline, writeRenderOutput } from "../offline/render";
import { OperatorError } from "./errors";

/** The directory holding Pulumi.yaml: the project root, wherever the CLI is run from. */
export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

export function registerRenderCommands(program: Command): void {
  program
    .command("render")
    .description("run the real Pulumi program offline (mocks: nothing is created) and write every generated file for review")
    .requiredOption("-s, --stack <name>", "stack whose Pulumi.<stack>.yaml to render")
    .requiredOption("-o, --out <dir>", "output directory")
    .option("--project-dir <dir>", "project root", PROJECT_DIR)
    .action(async (opts: { stack: string; out: string; projectDir: string }) => {
      const outDir = path.resolve(opts.out);
      try {
        const result = await renderStackOffline({
          projectDir: path.resolve(opts.projectDir),
          stack: opts.stack,
          buildDir: path.join(outDir, ".build"),
        });
        const written = writeRenderOutput(outDir, result);
        process.stdout.write(
          `rendered stack '${opts.stack}': ${result.model.teams.length} teams, ${result.resources.length} resources, ${written.length} files in ${outDir}\n`,
        );
      } catch (err) {
        if (err instanceof ConfigValidationError) throw new OperatorError(err.message, { exitCode: 1 });
        throw err;
      }
    });
}
