/**
 * A switch under steady load, ours against the naive way, on real HAProxy, PostgreSQL and
 * backups with stand-in Jenkins backends (the Pulumi seam is the tests' TEST DOUBLE: no
 * Pulumi CLI here). Prints the switch wall time minus the configured hold times (what
 * the machinery costs), failed requests during our switch and during naive switches
 * (rewrite haproxy.cfg + `haproxy -sf` reload, same backends, same load), and requests/s.
 * Ends with one line:
 *
 *   switch: failed_ours=<n> failed_naive=<m> requests=<r> overhead_s=<x>
 */
import * as fs from "fs";
import * as path from "path";
import { loadPlatformModel } from "../config/load";
import { renderHaproxyConfig } from "../render/haproxy";
import { cryptHash } from "../test/support/haproxy";
import { LoadGenerator } from "../test/support/load";
import { NaiveHaproxy } from "../test/support/naive-haproxy";
import { startSwitchHarness } from "../test/support/switch-harness";
import { freePort, waitFor } from "../test/support/tools";

const HOLD_SECONDS = Number(process.env.BENCH_HOLD_SECONDS ?? 2);
const NAIVE_RELOADS = 5;

async function main() {
  const h = await startSwitchHarness(["bench"], { holdSeconds: HOLD_SECONDS });
  const naive = new NaiveHaproxy(h.dir);
  try {
    // Ours: one full switch blue -> green under load.
    const load = new LoadGenerator(`${h.publicUrl("bench")}/job/x/`, { concurrency: 4, pauseMs: 2, maxSeconds: 300 }).start();
    const t0 = performance.now();
    const report = await h.orchestrator().switch({ team: "bench", to: "green", reason: "bench", actor: "bench", mode: "safe" });
    const wall = (performance.now() - t0) / 1000;
    const ours = await load.stop();
    if (report.outcome !== "completed") throw new Error(`switch ended ${report.outcome}`);
    const hold = h.model.config.switch.steps.length * HOLD_SECONDS;
    const overhead = wall - hold;
    console.log(`ours: wall_s=${wall.toFixed(2)} hold_s=${hold} requests=${ours.sent} failed=${ours.failed} rps=${(ours.sent / ours.seconds).toFixed(0)}`);
    console.log(`ours: timings ${JSON.stringify(report.timings)}`);

    // Naive: the same backends behind a daemon HAProxy (no master-worker, no socket
    // hand-over), switched by rewriting the config and replacing the process.
    const raw = JSON.parse(JSON.stringify(h.stack.config)) as { teams: Record<string, { activeEnvironment: string; publicPort: number; standbyRunning?: boolean }>; platform: { haproxy: Record<string, unknown> } };
    const naiveDir = path.join(h.dir, "naive");
    fs.mkdirSync(naiveDir);
    raw.teams.bench.publicPort = await freePort();
    raw.teams.bench.standbyRunning = true;
    raw.platform.haproxy.statsPort = await freePort();
    raw.platform.haproxy.runtimeDir = naiveDir;
    const hash = cryptHash("bench");
    const configFor = (colour: string) => {
      raw.teams.bench.activeEnvironment = colour;
      return renderHaproxyConfig(loadPlatformModel("bench", raw), { statsPasswordHash: hash, runtimeDir: naiveDir });
    };
    await h.backend("bench", "blue").start();
    await naive.start(configFor("green"));
    const naiveUrl = `http://127.0.0.1:${raw.teams.bench.publicPort}/job/x/`;
    await waitFor("naive haproxy serving", async () => (await fetch(naiveUrl)).status === 200);
    const naiveLoad = new LoadGenerator(naiveUrl, { concurrency: 4, pauseMs: 2, maxSeconds: 120 }).start();
    for (let i = 0; i < NAIVE_RELOADS; i++) {
      await new Promise((r) => setTimeout(r, (wall * 1000) / NAIVE_RELOADS));
      naive.reloadWith(configFor(i % 2 === 0 ? "blue" : "green"));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const naiveResult = await naiveLoad.stop();
    console.log(`naive: reloads=${NAIVE_RELOADS} requests=${naiveResult.sent} failed=${naiveResult.failed} rps=${(naiveResult.sent / naiveResult.seconds).toFixed(0)} failures=${JSON.stringify(naiveResult.failures.slice(0, 3))}`);
    console.log(`switch: failed_ours=${ours.failed} failed_naive=${naiveResult.failed} requests=${ours.sent} overhead_s=${overhead.toFixed(2)}`);
  } finally {
    naive.stop();
    await h.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
