/**
 * Critical-data backup vs `tar czf` of the whole home, on a generated JENKINS_HOME of
 * BENCH_HOME_GB (default 5) GB apparent size: ~50 MB of real critical data (job configs,
 * secrets, users, ...) and the bulk as sparse build artifacts and workspaces (fast to make,
 * but tar still reads and compresses every byte of it, as it would real data). Then a
 * backup re-run with nothing changed. Temp dirs are removed at the end, also on error or
 * Ctrl-C. Ends with one machine-readable line:
 *
 *   backup: critical_s=<a> full_s=<b> ratio=<b/a> nochange_s=<c>
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { selectionFor } from "../automation/backup/critical-set";
import { runBackup } from "../automation/backup/run";
import { TeamStore } from "../automation/backup/store";
import { generateJenkinsHome } from "../test/support/jenkins-home";

async function main(): Promise<void> {
  const gb = Number(process.env.BENCH_HOME_GB ?? "5");
  if (!(gb > 0)) throw new Error(`BENCH_HOME_GB='${process.env.BENCH_HOME_GB}' is not a positive number`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-bench-backup-"));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  process.once("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  try {
    const t0 = performance.now();
    const gen = generateJenkinsHome(path.join(dir, "home"), { jobs: 500, jobConfigBytes: 100_000, buildsPerJob: 2, sparseBytes: Math.round(gb * 1024 ** 3) });
    process.stdout.write(
      `generated home: ${(gen.apparentBytes / 1024 ** 3).toFixed(2)} GiB apparent, critical set ${gen.critical.size} files / ${(gen.criticalBytes / 1e6).toFixed(1)} MB (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`,
    );

    const store = new TeamStore(path.join(dir, "store"), "bench");
    fs.mkdirSync(store.root);
    const selection = selectionFor({ mode: "critical" });
    let t = performance.now();
    const first = await runBackup({ team: "bench", colour: "blue", home: gen.home, store, selection });
    const critical = (performance.now() - t) / 1000;
    process.stdout.write(`critical backup: ${critical.toFixed(2)} s, ${first.files} files, ${first.newObjects} objects\n`);

    t = performance.now();
    execFileSync("tar", ["czf", path.join(dir, "full.tar.gz"), "-C", gen.home, "."], { stdio: "inherit" });
    const full = (performance.now() - t) / 1000;
    process.stdout.write(`tar czf whole home: ${full.toFixed(2)} s, archive ${(fs.statSync(path.join(dir, "full.tar.gz")).size / 1e6).toFixed(1)} MB\n`);

    t = performance.now();
    const again = await runBackup({ team: "bench", colour: "blue", home: gen.home, store, selection });
    const nochange = (performance.now() - t) / 1000;
    process.stdout.write(`no-change re-run: ${nochange.toFixed(3)} s, ${again.newObjects} new objects\n`);
    if (again.newObjects !== 0) throw new Error("the no-change re-run stored new objects");

    process.stdout.write(`backup: critical_s=${critical.toFixed(3)} full_s=${full.toFixed(3)} ratio=${(full / critical).toFixed(1)} nochange_s=${nochange.toFixed(3)}\n`);
  } finally {
    cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
