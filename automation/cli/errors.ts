/**
 * A refusal the CLI reports as one clear message (cause and fix), without a stack trace
 * unless `--debug` is given. Every module's typed errors extend this.
 */
export class OperatorError extends Error {
  /** Process exit code the CLI uses for this refusal. */
  readonly exitCode: number;

  constructor(message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? 2;
  }
}
