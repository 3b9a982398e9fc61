import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { lastJson, runMain, spawnCli } from "../support/backup-cli";
import { GeneratedHome, generateJenkinsHome, treeDigest } from "../support/jenkins-home";

const TEAM = "devops";

/**
 * A stand-in for the source Jenkins controller (not Jenkins): records `POST /quietDown` and
 * answers `GET /computer/api/json` with a configurable busyExecutors count.
 */
class StandInSourceJenkins {
  quietDownRequests = 0;
  busyExecutors = 2;
  private server?: http.Server;

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      if (req.method === "POST" && req.url === "/quietDown") {
        this.quietDownRequests++;
        res.writeHead(302, { location: "/" }).end();
      } else if (req.method === "GET" && req.url?.startsWith("/computer/api/json")) {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ busyExecutors: this.busyExecutors, totalExecutors: 4 }));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", () => resolve()));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

interface SyncJson {
  files: number;
  buildsWereRunning: boolean;
  busyExecutors: number | null;
  quietDown: { requested: boolean; reachable: boolean; status?: number } | null;
  aside?: string;
  masterKey: string;
}

describe("jenkins-ha sync (critical data from one colour's home to the other)", () => {
  let dir: string;
  let source: GeneratedHome;
  let store: string;
  const jenkins = new StandInSourceJenkins();
  let url: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-backup-sync-"));
    source = generateJenkinsHome(path.join(dir, "green"), { jobs: 10, sparseBytes: 32 * 1024 * 1024 });
    store = path.join(dir, "store");
    fs.mkdirSync(store);
    url = await jenkins.start();
  });
  afterAll(async () => {
    await jenkins.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A target home with content of its own (its own builds, an old job, its own key). */
  function targetHome(name: string): string {
    const t = path.join(dir, name);
    fs.mkdirSync(path.join(t, "jobs", "old-job", "builds", "7"), { recursive: true });
    fs.writeFileSync(path.join(t, "jobs", "old-job", "config.xml"), "<old/>");
    fs.writeFileSync(path.join(t, "jobs", "old-job", "builds", "7", "log"), "old build");
    fs.mkdirSync(path.join(t, "secrets"));
    fs.writeFileSync(path.join(t, "secrets", "master.key"), "old key");
    return t;
  }

  it("gives the target exactly the critical set (+ the source's master.key at 0600), keeps the old content aside, quiets the source and reports busy executors", async () => {
    const target = targetHome("blue");
    const res = await runMain(["--json", "sync", "--team", TEAM, "--from", "green", "--to", "blue", "--from-home", source.home, "--to-home", target, "--store", store, "--source-url", url]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const result = lastJson<SyncJson>(res.stdout);
    expect(jenkins.quietDownRequests).toBe(1);
    expect(result).toMatchObject({ files: source.critical.size, buildsWereRunning: true, busyExecutors: 2, quietDown: { requested: true, reachable: true, status: 302 }, masterKey: "copied" });

    const synced = treeDigest(target);
    expect(fs.readFileSync(path.join(target, "secrets", "master.key"))).toEqual(source.masterKey);
    expect(fs.statSync(path.join(target, "secrets", "master.key")).mode & 0o777).toBe(0o600);
    synced.delete("secrets/master.key");
    expect(synced).toEqual(source.critical);
    expect(fs.statSync(path.join(target, "secrets", "hudson.util.Secret")).mode & 0o777).toBe(0o600);

    expect(result.aside).toMatch(/blue\.before-sync-/);
    expect(fs.readFileSync(path.join(result.aside!, "jobs", "old-job", "builds", "7", "log"), "utf8")).toBe("old build");
    expect(fs.readFileSync(path.join(result.aside!, "secrets", "master.key"), "utf8")).toBe("old key");
  });

  it("reports no running builds when the source is idle, and an unreachable source is fine (reported, not fatal)", async () => {
    jenkins.busyExecutors = 0;
    const idle = await runMain(["--json", "sync", "--team", TEAM, "--from", "green", "--to", "blue", "--from-home", source.home, "--to-home", targetHome("blue-idle"), "--store", store, "--source-url", url]);
    expect(lastJson<SyncJson>(idle.stdout)).toMatchObject({ buildsWereRunning: false, busyExecutors: 0 });

    // A port nothing listens on (the stand-in's, after it is closed).
    const gone = new StandInSourceJenkins();
    const goneUrl = await gone.start();
    await gone.stop();
    const res = await runMain(["sync", "--team", TEAM, "--from", "green", "--to", "blue", "--from-home", source.home, "--to-home", targetHome("blue-unreachable"), "--store", store, "--source-url", goneUrl, "--http-timeout-ms", "500"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("quiet-down: source unreachable");
    expect(res.stdout).toContain("builds running: unknown");
  });

  it("killed (SIGKILL) after staging, before the swap: the target is exactly as it was; the next sync cleans up and succeeds", async () => {
    const target = targetHome("blue-crash");
    const before = treeDigest(target);
    const cli = spawnCli(["sync", "--team", TEAM, "--from", "green", "--to", "blue", "--from-home", source.home, "--to-home", target, "--store", store], {
      env: { JENKINS_HA_BACKUP_TEST_PAUSE: "sync:staged" },
    });
    await cli.waitFor("jenkins-ha-test-paused:sync:staged");
    expect(fs.readdirSync(dir).some((n) => n.startsWith("blue-crash.staging-"))).toBe(true);
    cli.child.kill("SIGKILL");
    await cli.exited;
    expect(treeDigest(target)).toEqual(before);

    // The lock of the killed run is stale (dead pid): the next sync takes it over.
    const res = await runMain(["sync", "--team", TEAM, "--from", "green", "--to", "blue", "--from-home", source.home, "--to-home", target, "--store", store]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const after = treeDigest(target);
    after.delete("secrets/master.key");
    expect(after).toEqual(source.critical);
    expect(fs.readdirSync(dir).filter((n) => n.startsWith("blue-crash.staging-"))).toEqual([]);
  });

  it("killed between the two renames of the swap: the next run finishes that swap from its journal", async () => {
    const target = targetHome("blue-swap");
    const cli = spawnCli(["sync", "--team", TEAM, "--from", "green", "--to", "blue", "--from-home", source.home, "--to-home", target, "--store", store], {
      env: { JENKINS_HA_BACKUP_TEST_PAUSE: "sync:swapping" },
    });
    await cli.waitFor("jenkins-ha-test-paused:sync:swapping");
    cli.child.kill("SIGKILL");
    await cli.exited;
    expect(fs.existsSync(target)).toBe(false);
    expect(fs.existsSync(`${target}.swap.json`)).toBe(true);

    const res = await runMain(["sync", "--team", TEAM, "--from", "green", "--to", "blue", "--from-home", source.home, "--to-home", target, "--store", store]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`note: finished an interrupted swap of ${target}`);
    const after = treeDigest(target);
    after.delete("secrets/master.key");
    expect(after).toEqual(source.critical);
    expect(fs.existsSync(`${target}.swap.json`)).toBe(false);
  });

  it("refuses a sync to the same colour, naming the fix", async () => {
    const res = await runMain(["sync", "--team", TEAM, "--from", "green", "--to", "green", "--from-home", source.home, "--to-home", path.join(dir, "x"), "--store", store]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("--to must be the other colour than --from (blue)");
  });
});
