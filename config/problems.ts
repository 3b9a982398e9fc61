/** One thing wrong with the stack config: where it is, what is wrong, how to fix it. */
export interface ConfigProblem {
  /** Config path as `pulumi config set --path` takes it, e.g. `teams.devops.webPort`. */
  path: string;
  message: string;
  fix: string;
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.path}: ${p.message} — ${p.fix}`;
}

/** Thrown before any resource is declared; lists every problem at once. */
export class ConfigValidationError extends Error {
  readonly problems: ConfigProblem[];

  constructor(stack: string, problems: ConfigProblem[]) {
    const lines = problems.map((p) => `  - ${formatProblem(p)}`);
    super(
      `stack config '${stack}' has ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was changed:\n${lines.join("\n")}`,
    );
    this.name = "ConfigValidationError";
    this.problems = problems;
  }
}

/** Joins a config path the way `pulumi config set --path` spells it. */
export function joinPath(parts: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const part of parts) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "(root)" : out;
}
