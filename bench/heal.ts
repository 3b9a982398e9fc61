/**
 * Detection -> action latency of the healer, on a real Docker engine and a real
 * PostgreSQL (embedded), against its bound `threshold x interval`: a stand-in Jenkins
 * container (busybox httpd, not Jenkins) is made to fail, and the time from the failure
 * to the restart the healer starts is measured over a few trials. Then a flapping phase
 * (single failures at random, never `threshold` in a row) counts false actions. Ends with
 * one machine-readable line:
 *
 *   heal: latency_s=<x> bound_s=<threshold*interval> false_actions=<n>
 *
 * `latency_s` is the worst trial, from the moment the failure was injected (so it includes
 * up to one interval before the first failing probe). Knobs: BENCH_INTERVAL_S (1),
 * BENCH_THRESHOLD (3), BENCH_TRIALS (3), BENCH_FLAP_S (20).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Database } from "../automation/coordination/db";
import { dockerHealerPorts, DockerContainers } from "../automation/heal/docker-ports";
import { Healer } from "../automation/heal/healer";
import { HealLoop } from "../automation/heal/loop";
import { modelPlacement } from "../automation/heal/placement";
import { UnwiredSwitchRequester } from "../automation/heal/switch-requester";
import { PgCoordination } from "../automation/coordination/store";
import { budgetLimitsFrom } from "../automation/coordination/budget";
import { dockerClient } from "../test/support/docker";
import { rigConfig, rigModel } from "../test/support/heal-rig";
import { StandInContainer, uniqueTeam } from "../test/support/heal-standin";
import { startTestPostgres } from "../test/support/postgres";
import { freePortPair, waitFor } from "../test/support/tools";

const INTERVAL_S = Number(process.env.BENCH_INTERVAL_S ?? 1);
const THRESHOLD = Number(process.env.BENCH_THRESHOLD ?? 3);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 3);
const FLAP_S = Number(process.env.BENCH_FLAP_S ?? 20);
const RECOVERY_WAIT_S = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const pg = await startTestPostgres();
  const db = new Database(pg.roleUrl("healer"));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-bench-heal-"));
  const team = uniqueTeam("bench-heal");
  const webPort = await freePortPair();
  const blue = await StandInContainer.start(`jenkins-${team}-blue`, webPort);
  let loop: HealLoop | undefined;
  try {
    const model = rigModel(await rigConfig(dir, [{ name: team, webPort, healing: { mode: "on", intervalSeconds: 1, failureThreshold: THRESHOLD, recoveryWaitSeconds: RECOVERY_WAIT_S } }]));
    const containers = new DockerContainers(dockerClient(), 1);
    const ports = dockerHealerPorts({
      placement: modelPlacement(model, { db }),
      containers: () => containers,
      probeTimeoutMs: Math.min(2000, INTERVAL_S * 1000),
      log: () => undefined,
      coordination: new PgCoordination(db, budgetLimitsFrom(model.config.switch)),
      switcher: new UnwiredSwitchRequester(),
      healerId: "bench",
    });
    const actions: number[] = [];
    const restart = ports.restartContainer;
    ports.restartContainer = async (name) => {
      actions.push(Date.now());
      await restart(name);
    };
    const healer = new Healer([{ name: team, policy: { ...model.teams[0].config.healing!, mode: "on", intervalSeconds: 1, failureThreshold: THRESHOLD, recoveryWaitSeconds: RECOVERY_WAIT_S, actions: ["restart_container", "switch_environment", "escalate_human"], maxActions: 100, actionWindowMinutes: 60 } }], ports, "bench");
    loop = new HealLoop(healer, INTERVAL_S * 1000);
    void loop.start();
    await waitFor("first healthy check", async () => healer.status.get(team)?.healthy === true, 15000);

    const latencies: number[] = [];
    for (let trial = 1; trial <= TRIALS; trial++) {
      const before = actions.length;
      const injected = Date.now();
      await blue.breakUntilRestart();
      await waitFor("restart", async () => actions.length > before, (THRESHOLD + 3) * INTERVAL_S * 1000 + 10000, 20);
      const latency = (actions[before] - injected) / 1000;
      latencies.push(latency);
      process.stdout.write(`trial ${trial}: failure injected -> restart started in ${latency.toFixed(2)} s (bound ${THRESHOLD * INTERVAL_S} s)\n`);
      await blue.waitServing(30000);
      await waitFor("healthy again", async () => healer.status.get(team)?.healthy === true, 15000);
      await sleep(RECOVERY_WAIT_S * 1000 + 200); // the previous action leaves the exclusivity window
    }

    const flapStart = actions.length;
    const deadline = Date.now() + FLAP_S * 1000;
    let injectedFlaps = 0;
    while (Date.now() < deadline) {
      await sleep(INTERVAL_S * 1000 * (2 + Math.random() * 2));
      await blue.breakUntilRestart();
      injectedFlaps++;
      await sleep(INTERVAL_S * 1000 * (0.3 + Math.random() * 0.4));
      await blue.heal();
    }
    await sleep(INTERVAL_S * 1000);
    const falseActions = actions.length - flapStart;
    process.stdout.write(`flapping: ${injectedFlaps} single failures over ${FLAP_S} s at a ${INTERVAL_S} s interval: ${falseActions} actions\n`);
    const worst = Math.max(...latencies);
    process.stdout.write(`heal: latency_s=${worst.toFixed(2)} bound_s=${THRESHOLD * INTERVAL_S} false_actions=${falseActions}\n`);
  } finally {
    await loop?.stop();
    await blue.remove();
    await db.close();
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:heal failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
