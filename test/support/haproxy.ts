import { ChildProcess, spawn, execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { HaproxyRuntime } from "../../automation/traffic/haproxy-runtime";
import { requireTool, waitFor } from "./tools";

/** `haproxy -c -f <file>`: returns its output; throws with the output when invalid. */
export function haproxyCheck(configFile: string): string {
  const haproxy = requireTool("haproxy");
  try {
    return execFileSync(haproxy, ["-c", "-f", configFile], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`haproxy -c rejected ${configFile}:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

/** A crypt(3) hash (SHA-512) for HAProxy userlists, made by openssl. */
export function cryptHash(password: string): string {
  return execFileSync(requireTool("openssl"), ["passwd", "-6", password], { encoding: "utf8" }).trim();
}

/**
 * A real HAProxy in master-worker mode (`-W -db`), as the LoadBalancer container runs it.
 * `reload()` does what the install script does: save server state, then SIGUSR2 the master.
 */
export class HaproxyProcess {
  private child?: ChildProcess;
  /** Master pid of an HAProxy another process started (see `attach`). */
  private attachedPid?: number;
  log = "";

  constructor(
    readonly configFile: string,
    readonly runtimeDir: string,
  ) {}

  /**
   * The HAProxy another process started (e.g. a test's parent), for a child process that
   * changes it: runtime API on the same socket, reloads by SIGUSR2 to its master. `stop()`
   * leaves it running (its owner stops it).
   */
  static attach(configFile: string, runtimeDir: string, masterPid: number): HaproxyProcess {
    const attached = new HaproxyProcess(configFile, runtimeDir);
    attached.attachedPid = masterPid;
    return attached;
  }

  /** Pid of the master process. */
  get pid(): number {
    const pid = this.child?.pid ?? this.attachedPid;
    if (pid === undefined) throw new Error("haproxy is not running");
    return pid;
  }

  get runtime(): HaproxyRuntime {
    return new HaproxyRuntime(path.join(this.runtimeDir, "admin.sock"));
  }

  async start(): Promise<this> {
    const child = spawn(requireTool("haproxy"), ["-W", "-db", "-f", this.configFile], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (d: Buffer) => (this.log += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.log += d.toString()));
    this.child = child;
    await waitFor("haproxy admin socket", async () => (await this.runtime.command("show info")).includes("Name: HAProxy"));
    return this;
  }

  /** Seamless reload: state saved, new config read, listeners handed over. */
  async reload(): Promise<void> {
    const state = await this.runtime.showServersState();
    fs.writeFileSync(path.join(this.runtimeDir, "server-state"), state);
    const before = (await this.runtime.command("show info")).match(/^Pid: (\d+)$/m)?.[1];
    process.kill(this.pid, "SIGUSR2");
    await waitFor("new haproxy worker", async () => {
      const pid = (await this.runtime.command("show info")).match(/^Pid: (\d+)$/m)?.[1];
      return pid !== undefined && pid !== before;
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill("SIGTERM");
    });
  }
}
