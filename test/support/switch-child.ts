// Child process for the SIGKILL tests of the switch: runs one switch (or a recovery) of a
// team against the SAME real PostgreSQL, HAProxy (admin socket, SIGUSR2 to its master),
// backup store and stack-double state file as the test that started it, and prints what
// it does as JSON lines on stdout, so the parent knows the step to kill it at.
//
// Usage: node --import tsx switch-child.ts '<SwitchChildSetup as JSON>', then one line of
// SwitchChildRun as JSON on stdin once it printed {"kind":"ready"} (so a test can start it
// ahead of time: loading takes seconds).
//
// Lines: {"kind":"progress",...ProgressEvent} from the orchestrator; {"kind":"stack","op":...}
// after every config write and before every preview / up; {"kind":"traffic","percent":n}
// once HAProxy holds n % on the target; {"kind":"stall","ms":n} when its event loop was
// blocked for long; {"kind":"report",...} or {"kind":"error",...} at the end. A line that matches
// `killAt` carries "killPoint": true and the process then stops in its tracks (the event
// loop is blocked, so nothing more happens: no query, no renewal, no reload) until the
// parent SIGKILLs it — that pins the kill to that exact point instead of a few
// milliseconds later.
import * as fs from "fs";
import * as path from "path";
import { FileBackupPort } from "../../automation/backup/port";
import { budgetLimitsFrom } from "../../automation/coordination/budget";
import { Database } from "../../automation/coordination/db";
import { PgCoordination } from "../../automation/coordination/store";
import { HttpHealth } from "../../automation/switch/health";
import { SwitchOrchestrator, SwitchReport, SwitchRequest } from "../../automation/switch/orchestrator";
import { TrafficPort } from "../../automation/switch/ports";
import { StackOperations } from "../../automation/switch/stack-operations";
import { teamInfoFrom } from "../../automation/switch/wiring";
import { HaproxyTraffic } from "../../automation/traffic/haproxy-traffic";
import { loadPlatformModel } from "../../config/load";
import { Colour } from "../../config/schema";
import { HaproxyProcess } from "./haproxy";
import { PROJECT_DIR } from "./stacks";
import { TestDoubleStackOperations } from "./test-double-stack";

/** Where everything is (argv). */
export interface SwitchChildSetup {
  databaseUrl: string;
  /** The harness's raw `jenkins-ha:*` config (the stack state file wins where it exists). */
  raw: Record<string, unknown>;
  stateFile: string;
  runtimeDir: string;
  haproxyPid: number;
  statsPasswordHash: string;
  /** `<dir>/homes`: homes are `<homesDir>/<team>/<colour>`. */
  homesDir: string;
  buildDir: string;
}

/** What to do (one line on stdin). */
export interface SwitchChildRun {
  /** A switch to run, or (`recover`) the recovery `jenkins-ha switch` runs first. */
  request?: SwitchRequest;
  recover?: { team: string; actor: string; resume?: boolean };
  /** The line to stop at (every given field must match), then wait for SIGKILL. */
  killAt?: ChildEventMatch;
}

export type ChildEvent = { kind: string; [key: string]: unknown };
export type ChildEventMatch = { kind: string; messageIncludes?: string; [key: string]: unknown };

export function matches(event: ChildEvent, match: ChildEventMatch): boolean {
  return Object.entries(match).every(([k, v]) =>
    k === "messageIncludes" ? typeof event.message === "string" && event.message.includes(String(v)) : event[k] === v,
  );
}

function readLine(): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const nl = buffered.indexOf("\n");
      if (nl < 0) return;
      process.stdin.off("data", onData);
      process.stdin.destroy();
      resolve(buffered.slice(0, nl));
    };
    process.stdin.on("data", onData);
    process.stdin.once("end", () => reject(new Error("stdin closed before the run was given")));
  });
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2]) as SwitchChildSetup;
  let run: SwitchChildRun = {};
  let killPointSeen = false;
  const emit = (event: ChildEvent) => {
    const atKillPoint = !killPointSeen && run.killAt !== undefined && matches(event, run.killAt);
    fs.writeSync(1, `${JSON.stringify(atKillPoint ? { ...event, killPoint: true } : event)}\n`);
    if (atKillPoint) {
      killPointSeen = true;
      // Blocks this thread (and so everything this process would do next) for up to a
      // minute; the parent kills it long before.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
    }
  };

  // Ready once loaded; everything that reads state is built after the run is given (the
  // state file may change while this process waits).
  emit({ kind: "ready", pid: process.pid });
  run = JSON.parse(await readLine()) as SwitchChildRun;

  const model = loadPlatformModel("it", args.raw);
  const db = new Database(args.databaseUrl, { max: 4 });
  const coordination = new PgCoordination(db, budgetLimitsFrom(model.config.switch));
  const haproxy = HaproxyProcess.attach(path.join(args.runtimeDir, "haproxy.cfg"), args.runtimeDir, args.haproxyPid);
  // No backends: the parent keeps both colours' stand-ins running, so this double starts
  // and stops nothing; it writes the shared state file and reloads the shared HAProxy.
  const double = new TestDoubleStackOperations({
    projectDir: PROJECT_DIR,
    stack: "it",
    config: args.raw,
    haproxy,
    runtimeDir: args.runtimeDir,
    statsPasswordHash: args.statsPasswordHash,
    backends: new Map(),
    buildDir: args.buildDir,
    stateFile: args.stateFile,
  });
  const stack: StackOperations = {
    stackName: double.stackName,
    getConfig: (p) => double.getConfig(p),
    // Config writes are reported once written (and persisted), operations as they start.
    async setConfig(p, value) {
      await double.setConfig(p, value);
      emit({ kind: "stack", op: "setConfig", path: p, value });
    },
    async setConfigObject(p, value) {
      await double.setConfigObject(p, value);
      emit({ kind: "stack", op: "setConfigObject", path: p });
    },
    async removeConfig(p) {
      await double.removeConfig(p);
      emit({ kind: "stack", op: "removeConfig", path: p });
    },
    async preview(progress) {
      emit({ kind: "stack", op: "preview" });
      return double.preview(progress);
    },
    async up(progress) {
      emit({ kind: "stack", op: "up" });
      return double.up(progress);
    },
    outputs: () => double.outputs(),
  };
  const real = new HaproxyTraffic(haproxy.runtime);
  const traffic: TrafficPort = {
    async setTargetPercent(backend: string, source: Colour, target: Colour, percent: number) {
      await real.setTargetPercent(backend, source, target, percent);
      emit({ kind: "traffic", backend, target, percent });
    },
    readServer: (backend, server) => real.readServer(backend, server),
    restoreConfiguredWeights: (backend) => real.restoreConfiguredWeights(backend),
  };
  const orchestrator = new SwitchOrchestrator({
    stack,
    coordination,
    backup: new FileBackupPort({
      model,
      storeRoot: model.config.backup.nfsPath,
      homeFor: (team, colour) => path.join(args.homesDir, team, colour),
      audit: coordination.auditLog,
      actor: "it-child",
    }),
    health: new HttpHealth(undefined, 200),
    traffic,
    settings: model.config.switch,
    teamInfo: teamInfoFrom(model),
    progress: (event) => emit({ kind: "progress", ...event }),
  });
  // Long event-loop stalls (the test double runs the program in-process) are reported:
  // they are what could let this process's lease run out under a short TTL.
  let tick = Date.now();
  const stallWatch = setInterval(() => {
    const now = Date.now();
    if (now - tick > 600) emit({ kind: "stall", ms: now - tick });
    tick = now;
  }, 100);
  try {
    const reports: SwitchReport[] = [];
    if (run.recover) reports.push(...(await orchestrator.recoverInterrupted(run.recover.team, run.recover)));
    if (run.request) reports.push(await orchestrator.switch(run.request));
    emit({ kind: "report", reports });
  } catch (err) {
    emit({ kind: "error", name: err instanceof Error ? err.constructor.name : "unknown", message: err instanceof Error ? err.message : String(err) });
    process.exitCode = 1;
  } finally {
    clearInterval(stallWatch);
    await db.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    fs.writeSync(2, `switch-child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  });
}
