import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { main } from "../../automation/cli/main";
import { PROJECT_DIR } from "./stacks";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process through `main()`, capturing what it prints. */
export async function runMain(args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const capture = (into: string[]) => ((chunk: string | Uint8Array) => {
    into.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  }) as typeof process.stdout.write;
  const so = jest.spyOn(process.stdout, "write").mockImplementation(capture(out));
  const se = jest.spyOn(process.stderr, "write").mockImplementation(capture(err));
  let code: number;
  try {
    code = await main(["node", "jenkins-ha", ...args]);
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
  return { code, stdout: out.join(""), stderr: err.join("") };
}

/** The last JSON line of a `--json` run. */
export function lastJson<T>(stdout: string): T {
  const lines = stdout.trim().split("\n").filter((l) => l.startsWith("{"));
  return JSON.parse(lines[lines.length - 1]) as T;
}

export interface SpawnedCli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when stderr shows `marker`; rejects if the process exits first. */
  waitFor(marker: string, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

/** The real CLI as a child process (`node --import tsx`), e.g. to SIGKILL it at a test pause point. */
export function spawnCli(args: string[], options: { env?: Record<string, string>; uid?: number; gid?: number } = {}): SpawnedCli {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(PROJECT_DIR, "bin", "jenkins-ha.js"), ...args], {
    cwd: PROJECT_DIR,
    env: { ...process.env, ...options.env },
    uid: options.uid,
    gid: options.gid,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const waiters: (() => void)[] = [];
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
    for (const w of waiters) w();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(marker, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for '${marker}'; stderr: ${err}`)), timeoutMs);
        const check = () => {
          if (err.includes(marker)) {
            clearTimeout(timer);
            resolve();
          }
        };
        waiters.push(check);
        check();
        void exited.then((code) => {
          clearTimeout(timer);
          if (!err.includes(marker)) reject(new Error(`CLI exited (${code}) before '${marker}'; stderr: ${err}`));
        });
      });
    },
  };
}
