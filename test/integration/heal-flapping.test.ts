import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Database } from "../../automation/coordination/db";
import { HealService, startHealService } from "../../automation/heal/service";
import { UnwiredSwitchRequester } from "../../automation/heal/switch-requester";
import { FAST_HEALING, TEST_INTERVAL_MS, collectingLog, rigConfig, rigModel } from "../support/heal-rig";
import { StandInContainer, uniqueTeam } from "../support/heal-standin";
import { TestPostgres, startTestPostgres } from "../support/postgres";
import { freePortPair, waitFor } from "../support/tools";

/**
 * Flapping: single failures injected at random into a real container for a bounded soak.
 * The issue suggests 2 minutes at a 1 s interval; to keep CI time reasonable this runs
 * 30 s at a 300 ms interval (~100 checks, the same number of chances to misfire as ~100 s
 * at 1 s). Each injected failure lasts less than two intervals, so the threshold of 3 is
 * never reached by a real outage — any action would be a false one.
 */
const SOAK_MS = 30_000;

describe("healer under flapping (real Docker + PostgreSQL)", () => {
  let pg: TestPostgres;
  let owner: Database;
  let healerDb: Database;
  let dir: string;
  let blue: StandInContainer;
  let service: HealService;
  const team = uniqueTeam("heal-flap");

  beforeAll(async () => {
    pg = await startTestPostgres();
    owner = new Database(pg.url);
    healerDb = new Database(pg.roleUrl("healer"));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-heal-flap-"));
    const webPort = await freePortPair();
    blue = await StandInContainer.start(`jenkins-${team}-blue`, webPort);
    const model = rigModel(await rigConfig(dir, [{ name: team, webPort, healing: FAST_HEALING }]));
    service = await startHealService({
      model,
      db: healerDb,
      switcher: new UnwiredSwitchRequester(),
      log: collectingLog().log,
      intervalMs: TEST_INTERVAL_MS,
      haproxySocket: path.join(dir, "none.sock"),
      probeTimeoutMs: 1000,
      stopTimeoutSeconds: 1,
    });
  });

  afterAll(async () => {
    await service?.stop();
    await blue?.remove();
    await healerDb?.close();
    await owner?.close();
    await pg?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`single failures at random for ${SOAK_MS / 1000} s: seen by the healer, 0 actions`, async () => {
    await waitFor("first healthy check", async () => service.healer.status.get(team)?.healthy === true, 10000);
    const startedAt = await blue.startedAt();
    let injected = 0;
    let failedChecksSeen = 0;
    let maxConsecutive = 0;
    let lastFailures = 0;
    const watcher = setInterval(() => {
      const n = service.healer.status.get(team)?.consecutiveFailures ?? 0;
      if (n > lastFailures) failedChecksSeen++;
      lastFailures = n;
      maxConsecutive = Math.max(maxConsecutive, n);
    }, 20);
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const deadline = Date.now() + SOAK_MS;
    try {
      while (Date.now() < deadline) {
        await sleep(700 + Math.random() * 800);
        await blue.breakUntilRestart();
        injected++;
        await sleep(100 + Math.random() * 150);
        await blue.heal();
      }
      await sleep(1000);
    } finally {
      clearInterval(watcher);
    }
    const actions = [...service.healer.counters.actions.values()].reduce((a, b) => a + b, 0);
    const audited = await owner.query("SELECT operation, outcome FROM deployment_audit WHERE team = $1", [team]);
    process.stdout.write(`flapping: injected=${injected} failed_checks_seen=${failedChecksSeen} max_consecutive=${maxConsecutive} actions=${actions}\n`);
    expect(injected).toBeGreaterThan(15);
    expect(failedChecksSeen).toBeGreaterThan(5); // the failures were real and observed
    expect(maxConsecutive).toBeLessThan(3);
    expect(actions).toBe(0);
    expect(audited).toEqual([]);
    expect(await blue.startedAt()).toBe(startedAt);
  });
});
