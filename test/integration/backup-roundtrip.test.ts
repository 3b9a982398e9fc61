import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { decodeArchive } from "../../automation/backup/archive";
import { selectionFor } from "../../automation/backup/critical-set";
import { BackupMetadata, Manifest } from "../../automation/backup/manifest";
import { runBackup } from "../../automation/backup/run";
import { TeamStore } from "../../automation/backup/store";
import { verifyBackup } from "../../automation/backup/verify";
import { lastJson, runMain } from "../support/backup-cli";
import { GeneratedHome, generateJenkinsHome, treeDigest } from "../support/jenkins-home";

/** devops is active on green in Pulumi.prod.yaml, so blue is its standby. */
const TEAM = "devops";

describe("backup run -> verify -> restore (real files, through the CLI's main())", () => {
  let dir: string;
  let gen: GeneratedHome;
  let store: string;
  let id: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-backup-rt-"));
    gen = generateJenkinsHome(path.join(dir, "home"), { jobs: 16, sparseBytes: 64 * 1024 * 1024 });
    store = path.join(dir, "store");
    fs.mkdirSync(store);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("backs up exactly the critical set, with metadata, and master.key kept apart", async () => {
    const run = await runMain(["--json", "backup", "run", "--team", TEAM, "--colour", "green", "--home", gen.home, "--store", store]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const result = lastJson<{ id: string; files: number; bytes: number; newObjects: number; masterKey: string }>(run.stdout);
    id = result.id;
    expect(result.files).toBe(gen.critical.size);
    expect(result.bytes).toBe(gen.criticalBytes);
    expect(result.masterKey).toBe("stored");

    const snap = path.join(store, TEAM, id);
    const manifest = JSON.parse(fs.readFileSync(path.join(snap, "manifest.json"), "utf8")) as Manifest;
    expect(new Map(manifest.entries.map((e) => [e.path, e.sha256]))).toEqual(gen.critical);
    expect(manifest.entries.find((e) => e.path === "secrets/hudson.util.Secret")?.mode).toBe(0o600);
    const archive = decodeArchive(fs.readFileSync(path.join(snap, "archive.jha.gz")));
    expect(archive.map((e) => e.path).sort()).toEqual([...gen.critical.keys()].sort());

    const metadata = JSON.parse(fs.readFileSync(path.join(snap, "metadata.json"), "utf8")) as BackupMetadata;
    expect(metadata).toMatchObject({ team: TEAM, colour: "green", mode: "critical", jenkinsVersion: gen.jenkinsVersion, files: gen.critical.size });
    expect(metadata.plugins).toEqual(gen.plugins);
    expect(fs.readFileSync(path.join(snap, "plugins.txt"), "utf8")).toContain("plugin-1:1.1.3 # disabled\n");

    // master.key: only in master-key/, mode 0600 in a 0700 dir; in no archive entry and no object.
    expect(archive.some((e) => e.path.endsWith("master.key"))).toBe(false);
    const objectsDir = path.join(store, TEAM, "objects");
    for (const name of fs.readdirSync(objectsDir)) {
      const content = zlib.gunzipSync(fs.readFileSync(path.join(objectsDir, name)));
      expect(content.includes(gen.masterKey)).toBe(false);
    }
    const keyDir = path.join(store, TEAM, "master-key");
    expect(fs.statSync(keyDir).mode & 0o777).toBe(0o700);
    const keys = fs.readdirSync(keyDir);
    expect(keys).toEqual([metadata.masterKeySha256]);
    expect(fs.statSync(path.join(keyDir, keys[0])).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(keyDir, keys[0]))).toEqual(gen.masterKey);
  });

  it("verifies it, records verified.json and writes the backup-age metrics textfile", async () => {
    const metrics = path.join(dir, "textfile", "jenkins_ha_backup_devops.prom");
    const res = await runMain(["backup", "verify", "--team", TEAM, "--store", store, "--id", id, "--metrics-file", metrics]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`backup ${id} of devops verified: ${gen.critical.size} files`);
    const record = JSON.parse(fs.readFileSync(path.join(store, TEAM, id, "verified.json"), "utf8")) as { ok: boolean; problems: string[] };
    expect(record).toMatchObject({ ok: true, problems: [] });
    const text = fs.readFileSync(metrics, "utf8");
    const created = Date.parse((JSON.parse(fs.readFileSync(path.join(store, TEAM, id, "metadata.json"), "utf8")) as BackupMetadata).createdAt) / 1000;
    expect(text).toContain("# TYPE jenkins_ha_backup_last_success_timestamp_seconds gauge");
    expect(text).toContain(`jenkins_ha_backup_last_success_timestamp_seconds{team="devops"} ${created.toFixed(3)}`);
    expect(text).toMatch(/^jenkins_ha_backup_last_verified_timestamp_seconds\{team="devops"\} \d+\.\d{3}$/m);
  });

  it("restores byte-identically into the standby colour, master.key back at 0600, old content kept aside", async () => {
    const target = path.join(dir, "blue-home");
    fs.mkdirSync(path.join(target, "jobs", "stale"), { recursive: true });
    fs.writeFileSync(path.join(target, "jobs", "stale", "config.xml"), "<old/>");
    const res = await runMain(["backup", "restore", "--team", TEAM, "--id", id, "--to", "blue", "--home", target, "--store", store]);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const restored = treeDigest(target);
    const key = restored.get("secrets/master.key");
    restored.delete("secrets/master.key");
    expect(restored).toEqual(gen.critical);
    expect(key).toBeDefined();
    expect(fs.readFileSync(path.join(target, "secrets", "master.key"))).toEqual(gen.masterKey);
    expect(fs.statSync(path.join(target, "secrets", "master.key")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(target, "secrets", "hudson.util.Secret")).mode & 0o777).toBe(0o600);
    // Nothing outside the critical set: no builds, workspaces, plugins, nextBuildNumber.
    expect([...restored.keys()].some((p) => /\/builds\/|workspace|^plugins\/|nextBuildNumber/.test(p))).toBe(false);
    const aside = fs.readdirSync(dir).filter((n) => n.startsWith("blue-home.before-restore-"));
    expect(aside).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, aside[0], "jobs", "stale", "config.xml"), "utf8")).toBe("<old/>");
    expect(fs.readdirSync(dir).filter((n) => n.includes(".staging-") || n.endsWith(".swap.json"))).toEqual([]);
  });

  it("incremental: a second run with nothing changed copies no object; one changed file adds one", async () => {
    const objectsDir = path.join(store, TEAM, "objects");
    const before = fs.readdirSync(objectsDir).sort();
    const res = await runMain(["--json", "backup", "run", "--team", TEAM, "--colour", "green", "--home", gen.home, "--store", store]);
    expect(res.code).toBe(0);
    const second = lastJson<{ id: string; newObjects: number; newBytes: number; files: number }>(res.stdout);
    expect(second).toMatchObject({ newObjects: 0, newBytes: 0, files: gen.critical.size });
    expect(second.id > id).toBe(true);
    expect(fs.readdirSync(objectsDir).sort()).toEqual(before);
    // One changed job config: exactly one new object.
    fs.appendFileSync(path.join(gen.home, "jobs", "job-0001", "config.xml"), "<!-- changed -->\n");
    const third = lastJson<{ newObjects: number }>((await runMain(["--json", "backup", "run", "--team", TEAM, "--colour", "green", "--home", gen.home, "--store", store])).stdout);
    expect(third.newObjects).toBe(1);
  });

  it("full mode (the rollback path) takes the whole home except workspaces, still without master.key", async () => {
    const fullStore = new TeamStore(path.join(dir, "full-store"), TEAM);
    fs.mkdirSync(fullStore.root);
    const home = generateJenkinsHome(path.join(dir, "full-home"), { jobs: 4, sparseBytes: 4 * 1024 * 1024 });
    const run = await runBackup({ team: TEAM, colour: "green", home: home.home, store: fullStore, selection: selectionFor({ mode: "full" }) });
    const manifest = JSON.parse(fs.readFileSync(path.join(run.dir, "manifest.json"), "utf8")) as Manifest;
    const paths = manifest.entries.map((e) => e.path);
    const all = [...treeDigest(home.home).keys()];
    const expected = all.filter((p) => p !== "secrets/master.key" && !p.startsWith("workspace/") && !/^jobs\/.*\/workspace\//.test(p)).sort();
    expect(paths.sort()).toEqual(expected);
    expect(paths).toEqual(expect.arrayContaining(["jobs/job-0001/builds/1/log", "plugins/plugin-0.jpi", "jobs/job-0001/nextBuildNumber"]));
    expect((await verifyBackup({ store: fullStore, id: run.id })).ok).toBe(true);
  });
});

describe("incremental speed (issue: a no-change run of a 50 MB critical set in under a second)", () => {
  let dir: string;
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("re-runs over an unchanged ~50 MB critical set in < 1000 ms, copying no new objects", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-backup-speed-"));
    const gen = generateJenkinsHome(path.join(dir, "home"), { jobs: 500, jobConfigBytes: 100_000 });
    expect(gen.criticalBytes).toBeGreaterThan(50_000_000);
    const store = new TeamStore(path.join(dir, "store"), TEAM);
    fs.mkdirSync(store.root);
    const selection = selectionFor({ mode: "critical" });
    const first = await runBackup({ team: TEAM, colour: "green", home: gen.home, store, selection });
    expect(first.newObjects).toBeGreaterThan(500);
    const objects = fs.readdirSync(store.objectsDir).length;
    const t0 = performance.now();
    const second = await runBackup({ team: TEAM, colour: "green", home: gen.home, store, selection });
    const elapsed = performance.now() - t0;
    process.stdout.write(`no-change backup of ${(gen.criticalBytes / 1e6).toFixed(1)} MB (${second.files} files): ${elapsed.toFixed(0)} ms (first run ${first.durationMs} ms)\n`);
    expect(second.newObjects).toBe(0);
    expect(fs.readdirSync(store.objectsDir).length).toBe(objects);
    expect(elapsed).toBeLessThan(1000);
  });
});
