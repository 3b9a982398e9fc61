import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { requireTool, waitFor } from "./tools";

/**
 * The naive way to switch, for comparison only: a daemon HAProxy without master-worker or
 * socket hand-over; a switch rewrites haproxy.cfg and starts a new process with
 * `-sf <old pid>`.
 */
export class NaiveHaproxy {
  readonly pidFile: string;
  readonly configFile: string;

  constructor(dir: string) {
    this.pidFile = path.join(dir, "naive.pid");
    this.configFile = path.join(dir, "naive.cfg");
  }

  /** The rendered config minus what makes reloads seamless. */
  static strip(config: string): string {
    return config
      .split("\n")
      .filter((l) => !/^\s*master-worker\s*$/.test(l) && !/load-server-state-from-file|server-state-file/.test(l))
      .map((l) => l.replace(/ expose-fd listeners/, ""))
      .join("\n");
  }

  async start(config: string): Promise<void> {
    fs.writeFileSync(this.configFile, NaiveHaproxy.strip(config));
    execFileSync(requireTool("haproxy"), ["-D", "-p", this.pidFile, "-f", this.configFile]);
    await waitFor("naive haproxy pid file", async () => fs.existsSync(this.pidFile));
  }

  /** Rewrite the config and replace the process: `haproxy -D -p pid -f cfg -sf <old>`. */
  reloadWith(config: string): void {
    fs.writeFileSync(this.configFile, NaiveHaproxy.strip(config));
    const old = fs.readFileSync(this.pidFile, "utf8").trim().split(/\s+/);
    execFileSync(requireTool("haproxy"), ["-D", "-p", this.pidFile, "-f", this.configFile, "-sf", ...old]);
  }

  stop(): void {
    if (!fs.existsSync(this.pidFile)) return;
    for (const pid of fs.readFileSync(this.pidFile, "utf8").trim().split(/\s+/)) {
      try {
        process.kill(Number(pid), "SIGTERM");
      } catch {
        // already gone
      }
    }
  }
}
