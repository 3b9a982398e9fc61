import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { selectionFor } from "../../automation/backup/critical-set";
import { acquireTeamLock } from "../../automation/backup/lock";
import { Manifest } from "../../automation/backup/manifest";
import { pruneBackups } from "../../automation/backup/prune";
import { runBackup } from "../../automation/backup/run";
import { TeamStore } from "../../automation/backup/store";
import { verifyBackup } from "../../automation/backup/verify";
import { CliResult, runMain, spawnCli } from "../support/backup-cli";
import { GeneratedHome, generateJenkinsHome, treeDigest } from "../support/jenkins-home";

const TEAM = "devops"; // active: green (Pulumi.prod.yaml)
const DAY = 86_400_000;

describe("backup guards: one run per team, bad input, restore refusals", () => {
  let dir: string;
  let gen: GeneratedHome;
  let store: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-backup-guards-"));
    gen = generateJenkinsHome(path.join(dir, "home"), { jobs: 6 });
    store = path.join(dir, "store");
    fs.mkdirSync(store);
    const first = await runMain(["backup", "run", "--team", TEAM, "--home", gen.home, "--store", store, "--verify"]);
    expect(first.code).toBe(0);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const storeState = () => treeDigest(path.join(store, TEAM));

  it("refuses a second run for the same team while another process holds the lock; a killed holder's lock is stale", async () => {
    const holder = spawnCli(["backup", "run", "--team", TEAM, "--home", gen.home, "--store", store], { env: { JENKINS_HA_BACKUP_TEST_PAUSE: "run:staged" } });
    await holder.waitFor("jenkins-ha-test-paused:run:staged");
    const second = await runMain(["backup", "run", "--team", TEAM, "--home", gen.home, "--store", store]);
    expect(second.code).toBe(3);
    expect(second.stderr).toMatch(new RegExp(`team 'devops' is busy: 'backup run' \\(pid ${holder.child.pid} on .*\\) holds .*\\.lock — wait for it to finish`));
    const verify = await runMain(["backup", "verify", "--team", TEAM, "--store", store]);
    expect(verify.code).toBe(3);

    holder.child.kill("SIGKILL");
    await holder.exited;
    const ids = new TeamStore(store, TEAM).listIds();
    const third = await runMain(["backup", "run", "--team", TEAM, "--home", gen.home, "--store", store]);
    expect(third.stderr).toBe("");
    expect(third.code).toBe(0);
    // The killed run never became a backup, and its staging dir is gone.
    expect(new TeamStore(store, TEAM).listIds()).toHaveLength(ids.length + 1);
    expect(fs.readdirSync(path.join(store, TEAM)).filter((n) => n.startsWith(".staging-"))).toEqual([]);
  });

  it("a lock held in this process (same pid, alive) also refuses", () => {
    const lock = acquireTeamLock(path.join(dir, "lock-test", ".lock"), TEAM, "test");
    try {
      expect(() => acquireTeamLock(path.join(dir, "lock-test", ".lock"), TEAM, "other")).toThrow(/team 'devops' is busy: 'test'/);
    } finally {
      lock.release();
    }
    acquireTeamLock(path.join(dir, "lock-test", ".lock"), TEAM, "again").release();
  });

  it("unknown team: names the field and the known teams, writes nothing", async () => {
    const before = storeState();
    const res = await runMain(["backup", "run", "--team", "devosp", "--home", gen.home, "--store", store]);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe("error: --team: unknown team 'devosp' in stack 'prod' (did you mean 'devops'?) — teams: ba, devops, ma, tw\n");
    expect(fs.existsSync(path.join(store, "devosp"))).toBe(false);
    expect(storeState()).toEqual(before);
  });

  it("missing store path: says to mount it or pass --store, creates nothing", async () => {
    const missing = path.join(dir, "not-mounted");
    const res = await runMain(["backup", "run", "--team", TEAM, "--home", gen.home, "--store", missing]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`backup store ${missing} does not exist — mount the NFS export there (backup.nfs / backup.nfsPath) or pass --store <dir>`);
    expect(fs.existsSync(missing)).toBe(false);
  });

  it("missing home: names it and the fix", async () => {
    const res = await runMain(["backup", "run", "--team", TEAM, "--home", path.join(dir, "nope"), "--store", store]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`JENKINS_HOME of devops green ${path.join(dir, "nope")} does not exist — pass --home <dir>`);
  });

  it("an unreadable file: names it and the fix, removes the partial output, leaves earlier backups untouched", async () => {
    const home = generateJenkinsHome(path.join(dir, "home-unreadable"), { jobs: 4 }).home;
    const unreadable = path.join(home, "secrets", "hudson.util.Secret");
    const before = storeState();
    const ids = new TeamStore(store, TEAM).listIds();
    fs.chmodSync(unreadable, 0o000);
    let res: CliResult;
    if (process.getuid?.() === 0) {
      // root reads anything: run the real CLI as nobody, the way an under-privileged backup job would.
      const nobody = 65534;
      fs.chmodSync(dir, 0o755); // mkdtemp made it 0700
      execFileSync("chown", ["-R", `${nobody}:${nobody}`, home, store]);
      const cli = spawnCli(["backup", "run", "--team", TEAM, "--home", home, "--store", store], { uid: nobody, gid: nobody, env: { HOME: dir } });
      const code = (await cli.exited) ?? -1;
      res = { code, stdout: cli.stdout(), stderr: cli.stderr() };
      execFileSync("chown", ["-R", "0:0", store]);
    } else {
      res = await runMain(["backup", "run", "--team", TEAM, "--home", home, "--store", store]);
    }
    fs.chmodSync(unreadable, 0o600);
    expect(res.stderr).toContain(`error: permission denied while backing up secrets/hudson.util.Secret from ${unreadable} (EACCES) — make it readable/writable by uid`);
    expect(res.stderr).toContain("or add it to backup.exclude; the partial output of this run was removed");
    expect(res.code).toBe(2);
    expect(new TeamStore(store, TEAM).listIds()).toEqual(ids);
    expect(storeState()).toEqual(before);
  });

  it("restore refuses the active colour and a running one unless --force", async () => {
    const [id] = new TeamStore(store, TEAM).listIds();
    const target = path.join(dir, "restore-target");
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, "config.xml"), "<live/>");
    const active = await runMain(["backup", "restore", "--team", TEAM, "--id", id, "--to", "green", "--home", target, "--store", store]);
    expect(active.code).toBe(2);
    expect(active.stderr).toContain("refusing to restore into devops green: it is the active colour (teams.devops.activeEnvironment)");

    // A stand-in for the blue controller (not Jenkins): anything answering /login counts as running.
    const standIn = http.createServer((_req, res) => res.writeHead(200).end("stand-in"));
    await new Promise<void>((resolve) => standIn.listen(0, "127.0.0.1", () => resolve()));
    const url = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`;
    try {
      const running = await runMain(["backup", "restore", "--team", TEAM, "--id", id, "--to", "blue", "--home", target, "--store", store, "--running", url]);
      expect(running.code).toBe(2);
      expect(running.stderr).toContain("refusing to restore into devops blue: its controller is running");
      expect(fs.readFileSync(path.join(target, "config.xml"), "utf8")).toBe("<live/>");
      const forced = await runMain(["backup", "restore", "--team", TEAM, "--id", id, "--to", "blue", "--home", target, "--store", store, "--running", url, "--force"]);
      expect(forced.code).toBe(0);
      expect(fs.readFileSync(path.join(target, "config.xml"))).toEqual(fs.readFileSync(path.join(gen.home, "config.xml")));
    } finally {
      await new Promise<void>((resolve) => standIn.close(() => resolve()));
    }
  });

  it("restore of an unknown id lists the recent ones", async () => {
    const res = await runMain(["backup", "restore", "--team", TEAM, "--id", "2020-01-01T00-00-00-000Z", "--to", "blue", "--home", path.join(dir, "r2"), "--store", store]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/backup '2020-01-01T00-00-00-000Z' of team 'devops' not found in .* — recent ids: \d{4}-/);
  });
});

describe("backup prune", () => {
  let dir: string;
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("keeps the newest verified backup even when it is older than the retention, and collects unreferenced objects", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-backup-prune-"));
    const home = generateJenkinsHome(path.join(dir, "home"), { jobs: 4 }).home;
    const store = new TeamStore(path.join(dir, "store"), TEAM);
    fs.mkdirSync(store.root);
    const now = Date.now();
    const at = (daysAgo: number) => () => new Date(now - daysAgo * DAY);
    const selection = selectionFor({ mode: "critical" });
    const backup = async (daysAgo: number, change: string) => {
      fs.appendFileSync(path.join(home, "jobs", "job-0001", "config.xml"), `<!-- ${change} -->\n`);
      return runBackup({ team: TEAM, colour: "green", home, store, selection, now: at(daysAgo) });
    };
    const a = await backup(60, "a");
    expect((await verifyBackup({ store, id: a.id })).ok).toBe(true);
    const b = await backup(50, "b");
    // b fails verification: it must not count as "verified".
    const bManifest = JSON.parse(fs.readFileSync(path.join(b.dir, "manifest.json"), "utf8")) as Manifest;
    const bOnly = bManifest.entries.find((e) => e.path === "jobs/job-0001/config.xml")!.sha256;
    const saved = fs.readFileSync(store.objectPath(bOnly));
    fs.writeFileSync(store.objectPath(bOnly), "garbage");
    expect((await verifyBackup({ store, id: b.id })).ok).toBe(false);
    fs.writeFileSync(store.objectPath(bOnly), saved);
    const c = await backup(40, "c"); // never verified

    const dry = await runMain(["backup", "prune", "--team", TEAM, "--store", store.root, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(store.listIds()).toEqual([a.id, b.id, c.id]);

    const res = await runMain(["--json", "backup", "prune", "--team", TEAM, "--store", store.root]);
    expect(res.code).toBe(0);
    const result = JSON.parse(res.stdout.trim()) as { deleted: string[]; newestVerified: string; objectsRemoved: number };
    expect(result).toMatchObject({ deleted: [b.id, c.id], newestVerified: a.id });
    expect(result.objectsRemoved).toBe(2); // b's and c's versions of job-0001/config.xml
    expect(store.listIds()).toEqual([a.id]);
    expect(fs.existsSync(store.objectPath(bOnly))).toBe(false);
    expect((await verifyBackup({ store, id: a.id })).ok).toBe(true);

    // Once a newer backup is verified, the old one goes too.
    const d = await backup(0, "d");
    expect((await verifyBackup({ store, id: d.id })).ok).toBe(true);
    const second = await pruneBackups({ store, retentionDays: 30 });
    expect(second.deleted).toEqual([a.id]);
    expect(store.listIds()).toEqual([d.id]);
    expect((await verifyBackup({ store, id: d.id })).ok).toBe(true);
  });
});
