import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { FileBackupPort } from "../../automation/backup/port";
import { VerificationFailed } from "../../automation/backup/errors";
import { Manifest } from "../../automation/backup/manifest";
import { TeamStore } from "../../automation/backup/store";
import { describeFsError } from "../../automation/backup/errors";
import { nextCronTime } from "../../config/cron";
import { loadPlatformModel } from "../../config/load";
import { AuditRecord } from "../../automation/coordination/audit";
import { generateJenkinsHome, treeDigest } from "../support/jenkins-home";
import { stackConfig } from "../support/stacks";

/** The switch orchestrator's BackupPort, on plain directories, with an injected audit recorder. */
describe("FileBackupPort (what the switch orchestrator calls)", () => {
  let dir: string;
  let server: http.Server;
  let url: string;
  let quietDowns = 0;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-backup-port-"));
    // A stand-in for the devops green controller (not Jenkins): quiet-down and executors.
    server = http.createServer((req, res) => {
      if (req.method === "POST" && req.url === "/quietDown") {
        quietDowns++;
        res.writeHead(200).end();
      } else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ busyExecutors: 1 }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("runAndVerify backs up and verifies, records both in the audit, writes metrics; sync quiets the source and reports running builds", async () => {
    const model = loadPlatformModel("prod", stackConfig("prod"));
    const homes = { green: path.join(dir, "green"), blue: path.join(dir, "blue") };
    const gen = generateJenkinsHome(homes.green, { jobs: 5 });
    fs.mkdirSync(path.join(dir, "store"));
    const audit: AuditRecord[] = [];
    const port = new FileBackupPort({
      model,
      storeRoot: path.join(dir, "store"),
      homeFor: (_team, colour) => homes[colour],
      urlFor: () => url,
      metricsDir: path.join(dir, "textfile"),
      audit: { record: async (e) => void audit.push(e) },
      actor: "test",
    });
    const backup = await port.runAndVerify("devops", "green");
    expect(backup.id).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(Date.now() - backup.verifiedAt.getTime()).toBeLessThan(60_000);
    expect(audit.map((a) => [a.operation, a.outcome, a.actor])).toEqual([["backup:run", "completed", "test"], ["backup:verify", "completed", "test"]]);
    expect(fs.readFileSync(path.join(dir, "textfile", "jenkins_ha_backup_devops.prom"), "utf8")).toContain('jenkins_ha_backup_last_success_timestamp_seconds{team="devops"}');

    const sync = await port.sync("devops", "green", "blue");
    expect(sync).toEqual({ buildsWereRunning: true });
    expect(quietDowns).toBe(1);
    const synced = treeDigest(homes.blue);
    synced.delete("secrets/master.key");
    expect(synced).toEqual(gen.critical);
    expect(audit.at(-1)).toMatchObject({ operation: "backup:sync", from: "green", to: "blue", outcome: "completed" });

    // A damaged store makes the next runAndVerify throw, so a switch cannot proceed on it.
    const store = new TeamStore(path.join(dir, "store"), "devops");
    const manifest = JSON.parse(fs.readFileSync(path.join(store.snapshotDir(backup.id), "manifest.json"), "utf8")) as Manifest;
    fs.writeFileSync(store.objectPath(manifest.entries[0].sha256), "not gzip");
    await expect(port.runAndVerify("devops", "green")).rejects.toBeInstanceOf(VerificationFailed);
    expect(audit.at(-1)).toMatchObject({ operation: "backup:verify", outcome: "failed" });
  });

  it("a recorder that fails does not fail the backup; unknown teams are refused", async () => {
    const model = loadPlatformModel("prod", stackConfig("prod"));
    const home = generateJenkinsHome(path.join(dir, "ma-blue"), { jobs: 2 }).home;
    fs.mkdirSync(path.join(dir, "store2"));
    const port = new FileBackupPort({ model, storeRoot: path.join(dir, "store2"), homeFor: () => home, audit: { record: async () => Promise.reject(new Error("db down")) } });
    await expect(port.runAndVerify("ma", "blue")).resolves.toMatchObject({ id: expect.any(String) });
    await expect(port.runAndVerify("nosuch", "blue")).rejects.toThrow(/unknown team 'nosuch'/);
  });
});

describe("small pure parts", () => {
  it("ENOSPC becomes a message naming the path and the fix", () => {
    const err = Object.assign(new Error("no space"), { code: "ENOSPC", path: "/mnt/jenkins-backups/devops/objects/.tmp-1" });
    expect(describeFsError(err, "backing up jobs/a/config.xml from").message).toBe(
      "no space left while backing up jobs/a/config.xml from /mnt/jenkins-backups/devops/objects/.tmp-1 (ENOSPC) — free space on the backup store or point backup.nfsPath / --store at a larger one; the partial output of this run was removed and earlier backups are untouched",
    );
  });

  it("cron: next fire times in UTC", () => {
    const at = (iso: string) => new Date(iso);
    expect(nextCronTime("0 2 * * *", at("2024-05-01T01:59:30Z")).toISOString()).toBe("2024-05-01T02:00:00.000Z");
    expect(nextCronTime("0 2 * * *", at("2024-05-01T02:00:00Z")).toISOString()).toBe("2024-05-02T02:00:00.000Z");
    expect(nextCronTime("*/15 * * * *", at("2024-05-01T10:07:00Z")).toISOString()).toBe("2024-05-01T10:15:00.000Z");
    expect(nextCronTime("30 3 * * 0", at("2024-05-01T00:00:00Z")).toISOString()).toBe("2024-05-05T03:30:00.000Z"); // Sunday
    expect(nextCronTime("0 0 29 2 *", at("2025-01-01T00:00:00Z")).toISOString()).toBe("2028-02-29T00:00:00.000Z");
  });
});
