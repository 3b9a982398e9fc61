import { Command, CommanderError } from "commander";
import { OperatorError } from "./errors";
import { registerCoordinationCommands } from "./coordination";
import { registerBackupCommands } from "./backup";
import { registerRenderCommands } from "./render";
import { registerHealCommands } from "./heal";
import { registerSwitchCommands } from "./switch";
import { registerSwitchRequestCommands } from "./switch-requests";

/**
 * `jenkins-ha` — the operator and Jenkins-job entry point. Each feature registers its
 * own sub-commands from `automation/cli/<feature>.ts`.
 */
export function buildProgram(): Command {
  const program = new Command("jenkins-ha")
    .description("Operate the jenkins-ha platform: render, switch, backups, coordination, healing")
    .option("--debug", "print stack traces on errors")
    .option("--json", "machine-readable output (JSON lines) for Jenkins jobs")
    .showHelpAfterError();
  // Feature registrations (one line each):
  registerRenderCommands(program);
  registerBackupCommands(program);
  registerCoordinationCommands(program);
  registerHealCommands(program);
  registerSwitchCommands(program);
  registerSwitchRequestCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const debug = program.opts<{ debug?: boolean }>().debug === true || argv.includes("--debug");
    if (err instanceof OperatorError) {
      process.stderr.write(`error: ${err.message}\n`);
      if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
      return err.exitCode;
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    else process.stderr.write("(run with --debug for the stack trace)\n");
    return 1;
  }
}
