import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { selectionFor } from "../../automation/backup/critical-set";
import { Manifest, VerificationRecord } from "../../automation/backup/manifest";
import { runBackup } from "../../automation/backup/run";
import { TeamStore } from "../../automation/backup/store";
import { runMain } from "../support/backup-cli";
import { GeneratedHome, generateJenkinsHome, treeDigest } from "../support/jenkins-home";

const TEAM = "devops";

/** A damaged backup is never reported as good: verify exits non-zero and names what is wrong. */
describe("backup verify on damaged backups", () => {
  let dir: string;
  let gen: GeneratedHome;
  let n = 0;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-backup-corrupt-"));
    gen = generateJenkinsHome(path.join(dir, "home"), { jobs: 8 });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A fresh store with one good backup, per case. */
  async function freshBackup(): Promise<{ store: TeamStore; id: string; snap: string; manifest: Manifest }> {
    const store = new TeamStore(path.join(dir, `store-${++n}`), TEAM);
    fs.mkdirSync(store.root);
    const run = await runBackup({ team: TEAM, colour: "green", home: gen.home, store, selection: selectionFor({ mode: "critical" }) });
    const manifest = JSON.parse(fs.readFileSync(path.join(run.dir, "manifest.json"), "utf8")) as Manifest;
    return { store, id: run.id, snap: run.dir, manifest };
  }

  async function verifyFails(store: TeamStore, id: string): Promise<{ stdout: string; stderr: string; record: VerificationRecord }> {
    const res = await runMain(["backup", "verify", "--team", TEAM, "--store", store.root, "--id", id]);
    expect(res.code).toBe(4);
    expect(res.stdout).toContain(`backup ${id} of devops FAILED verification`);
    expect(res.stderr).toMatch(/^error: backup .* is not good/);
    const record = JSON.parse(fs.readFileSync(path.join(store.snapshotDir(id), "verified.json"), "utf8")) as VerificationRecord;
    expect(record.ok).toBe(false);
    return { stdout: res.stdout, stderr: res.stderr, record };
  }

  function flipByte(file: string, at: number): void {
    const data = fs.readFileSync(file);
    data[at] ^= 0xff;
    fs.writeFileSync(file, data);
  }

  it("a good backup verifies (the control case)", async () => {
    const { store, id } = await freshBackup();
    const res = await runMain(["backup", "verify", "--team", TEAM, "--store", store.root, "--id", id]);
    expect(res.code).toBe(0);
  });

  it("a flipped byte in an object names the file it belongs to", async () => {
    const { store, id, manifest } = await freshBackup();
    const entry = manifest.entries.find((e) => e.path === "jobs/job-0001/config.xml")!;
    const object = store.objectPath(entry.sha256);
    flipByte(object, Math.floor(fs.statSync(object).size / 2));
    const { record } = await verifyFails(store, id);
    expect(record.problems.join("\n")).toMatch(new RegExp(`^jobs/job-0001/config\\.xml: object ${entry.sha256} is (unreadable or )?damaged`, "m"));
  });

  it("a flipped byte in the archive is caught", async () => {
    const { store, id, snap } = await freshBackup();
    const archive = path.join(snap, "archive.jha.gz");
    flipByte(archive, Math.floor(fs.statSync(archive).size / 2));
    const { record } = await verifyFails(store, id);
    expect(record.problems.join("\n")).toMatch(/^archive\.jha\.gz: sha256 [0-9a-f]{64} differs from the [0-9a-f]{64} recorded at backup time/m);
  });

  it("a flipped byte in the gzip header (which gzip itself does not check) is caught by the recorded digest", async () => {
    const { store, id, snap } = await freshBackup();
    flipByte(path.join(snap, "archive.jha.gz"), 5); // MTIME field
    const { record } = await verifyFails(store, id);
    expect(record.problems[0]).toMatch(/^archive\.jha\.gz: sha256/);
  });

  it("a truncated archive is reported as truncated", async () => {
    const { store, id, snap } = await freshBackup();
    const archive = path.join(snap, "archive.jha.gz");
    fs.truncateSync(archive, Math.floor(fs.statSync(archive).size / 2));
    const { record } = await verifyFails(store, id);
    expect(record.problems.join("\n")).toMatch(/^archive\.jha\.gz: archive is truncated/m);
  });

  it("an object deleted from the store is reported missing, with its file", async () => {
    const { store, id, manifest } = await freshBackup();
    const entry = manifest.entries.find((e) => e.path === "credentials.xml")!;
    fs.rmSync(store.objectPath(entry.sha256));
    const { record, stderr } = await verifyFails(store, id);
    expect(record.problems).toContain(`credentials.xml: object ${entry.sha256} is missing from ${store.objectsDir}`);
    expect(stderr).toContain("credentials.xml");
  });

  it("a truncated object is caught", async () => {
    const { store, id, manifest } = await freshBackup();
    const entry = manifest.entries.find((e) => e.path === "userContent/readme.txt")!;
    fs.truncateSync(store.objectPath(entry.sha256), 20);
    const { record } = await verifyFails(store, id);
    expect(record.problems.join("\n")).toContain(`userContent/readme.txt: object ${entry.sha256}`);
  });

  it("an edited manifest and a missing master key are both reported", async () => {
    const { store, id, snap } = await freshBackup();
    const file = path.join(snap, "manifest.json");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("credentials.xml", "credentialz.xml"));
    fs.rmSync(store.masterKeyDir, { recursive: true });
    const { record } = await verifyFails(store, id);
    const text = record.problems.join("\n");
    expect(text).toMatch(/^manifest\.json: sha256 .* differs/m);
    expect(text).toMatch(/^master key .* is missing or unreadable/m);
  });

  it("restore refuses a damaged backup and leaves the target home untouched", async () => {
    const { store, id, manifest } = await freshBackup();
    const entry = manifest.entries.find((e) => e.path === "config.xml")!;
    flipByte(store.objectPath(entry.sha256), 12);
    const target = path.join(dir, `target-${n}`);
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, "config.xml"), "<keep-me/>");
    const before = treeDigest(target);
    const res = await runMain(["backup", "restore", "--team", TEAM, "--id", id, "--to", "blue", "--home", target, "--store", store.root]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`backup ${id} is damaged: config.xml`);
    expect(treeDigest(target)).toEqual(before);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(`target-${n}.`))).toEqual([]);
  });
});
