import * as fs from "fs";
import * as path from "path";
import { Command } from "commander";
import { ConfigValidationError } from "../../config/problems";
import { PolicyPackConfig, evaluatePolicies, formatViolation, sortViolations } from "../offline/policy";
import { renderStackOffline, writeRenderOutput } from "../offline/render";
import { OperatorError } from "./errors";

/** Exit code of `render --policy` when a mandatory policy is violated. */
export const POLICY_VIOLATION_EXIT_CODE = 3;

function readJsonFile(file: string, what: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new OperatorError(`cannot read ${what} ${file}: ${err instanceof Error ? err.message : String(err)}`, { exitCode: 1 });
  }
}

/** The directory holding Pulumi.yaml: the project root, wherever the CLI is run from. */
export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

export function registerRenderCommands(program: Command): void {
  program
    .command("render")
    .description("run the real Pulumi program offline (mocks: nothing is created) and write every generated file for review")
    .requiredOption("-s, --stack <name>", "stack whose Pulumi.<stack>.yaml to render")
    .requiredOption("-o, --out <dir>", "output directory")
    .option("--project-dir <dir>", "project root", PROJECT_DIR)
    .option("--policy", "evaluate the policy pack (policy/) over the registered resources; exit 3 on a mandatory violation")
    .option("--policy-config <file>", "policy pack config (JSON, as for pulumi --policy-pack-config)")
    .option(
      "--previous-outputs <file>",
      "stack outputs of the last deployment (e.g. an earlier render's outputs.json, or 'pulumi stack output --json'); default: never deployed",
    )
    .action(async (opts: { stack: string; out: string; projectDir: string; policy?: boolean; policyConfig?: string; previousOutputs?: string }) => {
      const outDir = path.resolve(opts.out);
      // Read before rendering: the previous outputs may be this very directory's outputs.json.
      const previousOutputs = opts.previousOutputs ? readJsonFile(opts.previousOutputs, "previous outputs") : undefined;
      const policyConfig = opts.policyConfig ? (readJsonFile(opts.policyConfig, "policy config") as PolicyPackConfig) : undefined;
      try {
        const result = await renderStackOffline({
          projectDir: path.resolve(opts.projectDir),
          stack: opts.stack,
          buildDir: path.join(outDir, ".build"),
          previousOutputs,
        });
        const written = writeRenderOutput(outDir, result);
        process.stdout.write(
          `rendered stack '${opts.stack}': ${result.model.teams.length} teams, ${result.resources.length} resources, ${written.length} files in ${outDir}\n`,
        );
        if (!opts.policy) return;
        const violations = await evaluatePolicies(result.resources, { config: policyConfig });
        for (const v of sortViolations(violations)) {
          process.stdout.write(`${v.enforcementLevel === "mandatory" ? "policy violation" : "warning"}: ${formatViolation(v)}\n`);
        }
        const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory").length;
        const advisory = violations.length - mandatory;
        if (mandatory > 0) {
          throw new OperatorError(
            `policy pack: ${mandatory} mandatory violation(s), ${advisory} advisory, in stack '${opts.stack}'; fix them (each message says how) — 'pulumi up' would refuse this change`,
            { exitCode: POLICY_VIOLATION_EXIT_CODE },
          );
        }
        process.stdout.write(`policy pack: no mandatory violations, ${advisory} advisory, in stack '${opts.stack}'\n`);
      } catch (err) {
        if (err instanceof ConfigValidationError) throw new OperatorError(err.message, { exitCode: 1 });
        throw err;
      }
    });
}
