import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FileBackupPort } from "../../automation/backup/port";
import { Database } from "../../automation/coordination/db";
import { PgCoordination } from "../../automation/coordination/store";
import { budgetLimitsFrom } from "../../automation/coordination/budget";
import { HttpHealth } from "../../automation/switch/health";
import { SwitchOrchestrator } from "../../automation/switch/orchestrator";
import { BackupPort, ProgressEvent, SwitchCoordination, TrafficPort } from "../../automation/switch/ports";
import { StackOperations } from "../../automation/switch/stack-operations";
import { teamInfoFrom } from "../../automation/switch/wiring";
import { HaproxyTraffic } from "../../automation/traffic/haproxy-traffic";
import { loadPlatformModel } from "../../config/load";
import { PlatformModel } from "../../config/model";
import { Colour, COLOURS } from "../../config/schema";
import { renderHaproxyConfig } from "../../render/haproxy";
import { HaproxyProcess, cryptHash } from "./haproxy";
import { generateJenkinsHome } from "./jenkins-home";
import { TestPostgres, startTestPostgres } from "./postgres";
import { PROJECT_DIR } from "./stacks";
import { StandInJenkins } from "./standin-jenkins";
import { TestDoubleStackOperations } from "./test-double-stack";
import { freePort, freePortPair, waitFor } from "./tools";

/**
 * Everything a switch touches, for real where this machine allows: PostgreSQL (leases,
 * budget, journal, audit), HAProxy (master-worker, runtime API, seamless reloads), backups
 * and sync on real directories, stand-in Jenkins backends (HTTP servers, not Jenkins) —
 * and the Pulumi seam as a TEST DOUBLE (`TestDoubleStackOperations`: runs the real program
 * offline and applies its HAProxy config; no Pulumi CLI here).
 */
export interface SwitchHarness {
  dir: string;
  pg: TestPostgres;
  db: Database;
  coordination: PgCoordination;
  haproxy: HaproxyProcess;
  stack: TestDoubleStackOperations;
  /**
   * Where the stack double keeps config, outputs and deployed resources (with
   * `{ stateFile: true }`), so a child process and the parent share them; else undefined.
   */
  stateFile?: string;
  /** What a child process needs to drive the same HAProxy, stack double and stores. */
  raw: Record<string, unknown>;
  runtimeDir: string;
  statsPasswordHash: string;
  backends: Map<string, StandInJenkins>;
  model: PlatformModel;
  events: ProgressEvent[];
  publicUrl(team: string): string;
  backend(team: string, colour: Colour): StandInJenkins;
  homeOf(team: string, colour: Colour): string;
  /**
   * `database`: the coordination store (and the backup's audit) on this connection instead
   * of the owner's, e.g. `new Database(pg.roleUrl("healer"))` for a healer-initiated switch.
   */
  orchestrator(overrides?: { traffic?: TrafficPort; backup?: BackupPort; signal?: AbortSignal; healthTimeoutSeconds?: number; maxP95Ms?: number; database?: Database; stack?: StackOperations; coordination?: (store: PgCoordination) => SwitchCoordination }): SwitchOrchestrator;
  /**
   * A new stack double on the state file (what the next process sees after another one
   * changed it); it starts or stops no backends. Needs `{ stateFile: true }`.
   */
  freshStack(): TestDoubleStackOperations;
  /** The colour HAProxy sends real requests of a team to right now. */
  servedBy(team: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startSwitchHarness(teams: string[], options: { holdSeconds?: number; teamConfig?: Record<string, unknown>; leaseTtlSeconds?: number; stateFile?: boolean } = {}): Promise<SwitchHarness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-switch-"));
  fs.chmodSync(dir, 0o755);
  const runtimeDir = path.join(dir, "haproxy");
  fs.mkdirSync(runtimeDir);
  const rawTeams: Record<string, unknown> = {};
  for (const team of teams) {
    rawTeams[team] = { activeEnvironment: "blue", webPort: await freePortPair(), agentPort: await freePortPair(), publicPort: await freePort(), host: "local", ...options.teamConfig };
  }
  const raw = {
    hosts: { local: "unix:///var/run/docker.sock" },
    platform: { haproxy: { host: "local", statsPort: await freePort(), runtimeDir, checkIntervalSeconds: 1 }, resourceOptimised: true, rollbackWindowMinutes: 60 },
    teams: rawTeams,
    backup: { nfsPath: path.join(dir, "store") },
    switch: { steps: [5, 10, 25, 50, 100], holdSeconds: options.holdSeconds ?? 1, healthTimeoutSeconds: 15, leaseTtlSeconds: options.leaseTtlSeconds ?? 30, sli: { probesPerSecond: 5 } },
    monitoring: { enabled: false },
    logging: { enabled: false },
  };
  fs.mkdirSync(raw.backup.nfsPath);
  const model = loadPlatformModel("it", raw);
  const statsPasswordHash = cryptHash("stats-pw");

  const backends = new Map<string, StandInJenkins>();
  for (const t of model.teams) {
    for (const c of COLOURS) {
      const b = new StandInJenkins(c, t.colours[c].webPort);
      backends.set(`${t.name}/${c}`, b);
      if (t.colours[c].running) await b.start();
      generateJenkinsHome(path.join(dir, "homes", t.name, c), { jobs: 5, buildsPerJob: 1, sparseBytes: 0, plugins: 3 });
    }
  }
  const configFile = path.join(runtimeDir, "haproxy.cfg");
  fs.writeFileSync(configFile, renderHaproxyConfig(model, { statsPasswordHash, runtimeDir }));
  const haproxy = await new HaproxyProcess(configFile, runtimeDir).start();
  const stateFile = options.stateFile ? path.join(dir, "stack-state.json") : undefined;
  const stack = new TestDoubleStackOperations({
    projectDir: PROJECT_DIR,
    stack: "it",
    config: raw,
    haproxy,
    runtimeDir,
    statsPasswordHash,
    backends,
    buildDir: path.join(dir, "build"),
    stateFile,
  });
  const freshStack = () => {
    if (!stateFile) throw new Error("freshStack() needs startSwitchHarness(..., { stateFile: true })");
    return new TestDoubleStackOperations({ projectDir: PROJECT_DIR, stack: "it", config: raw, haproxy, runtimeDir, statsPasswordHash, backends: new Map(), buildDir: path.join(dir, "build"), stateFile });
  };
  await stack.baseline();
  const pg = await startTestPostgres();
  const db = new Database(pg.url, { max: 8 });
  const coordination = new PgCoordination(db, budgetLimitsFrom(model.config.switch));
  const events: ProgressEvent[] = [];
  const homeOf = (team: string, colour: Colour) => path.join(dir, "homes", team, colour);
  const publicUrl = (team: string) => model.teams.find((t) => t.name === team)!.publicUrl;

  for (const t of model.teams) {
    await waitFor(`${t.name} served`, async () => (await haproxy.runtime.showStat()).some((r) => r.pxname === t.backendName && r.svname === "blue" && r.status === "UP"));
  }

  return {
    dir,
    pg,
    db,
    coordination,
    haproxy,
    stack,
    stateFile,
    raw,
    runtimeDir,
    statsPasswordHash,
    freshStack,
    backends,
    model,
    events,
    publicUrl,
    homeOf,
    backend: (team, colour) => backends.get(`${team}/${colour}`)!,
    orchestrator(overrides = {}) {
      const store = overrides.database ? new PgCoordination(overrides.database, budgetLimitsFrom(model.config.switch)) : coordination;
      return new SwitchOrchestrator({
        stack: overrides.stack ?? stack,
        coordination: overrides.coordination ? overrides.coordination(store) : store,
        backup: overrides.backup ?? new FileBackupPort({ model, storeRoot: raw.backup.nfsPath, homeFor: homeOf, audit: store.auditLog, actor: "it" }),
        health: new HttpHealth(undefined, 200),
        traffic: overrides.traffic ?? new HaproxyTraffic(haproxy.runtime),
        settings: {
          ...model.config.switch,
          healthTimeoutSeconds: overrides.healthTimeoutSeconds ?? model.config.switch.healthTimeoutSeconds,
          sli: { ...model.config.switch.sli, maxP95Ms: overrides.maxP95Ms ?? model.config.switch.sli.maxP95Ms },
        },
        teamInfo: teamInfoFrom(model),
        progress: (e) => events.push(e),
        signal: overrides.signal,
      });
    },
    async servedBy(team) {
      const res = await fetch(`${publicUrl(team)}/`);
      return (await res.text()).trim();
    },
    async stop() {
      await db.close();
      await pg.stop();
      await haproxy.stop();
      for (const b of backends.values()) await b.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Two completed switches of `team` within the last hour (50 and 10 minutes ago, actor
 * "earlier"): the seed budget (2/h, 30 min cooldown) then refuses the next switch.
 */
export async function spendSwitchBudget(h: SwitchHarness, team: string): Promise<void> {
  for (const minutesAgo of [50, 10]) {
    const at = new Date(Date.now() - minutesAgo * 60_000);
    await h.coordination.audit({ operation: "switch", team, actor: "earlier", reason: "earlier switch", from: "green", to: "blue", outcome: "completed", startedAt: at, finishedAt: at, metadata: {} });
  }
}
