import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { Database } from "./db";
import { CoordinationUnavailable } from "./errors";
import { LocalPostgres } from "./local-postgres";
import { migrate } from "./migrate";

/** The environment variable every runtime command reads the coordination DB URL from. */
export const DATABASE_URL_ENV = "JENKINS_HA_DATABASE_URL";
export const LOCAL_DATABASE = "jenkins_coordination";

/**
 * The project's state folder (`.jenkins-ha/`, git-ignored): the local database lives in
 * `<state>/postgres/`. `JENKINS_HA_STATE_DIR` moves it (tests, several checkouts).
 */
export function stateDir(projectDir: string): string {
  return process.env.JENKINS_HA_STATE_DIR ?? path.join(projectDir, ".jenkins-ha");
}

interface LocalServerPaths {
  dir: string;
  dataDir: string;
  portFile: string;
}

function localPaths(projectDir: string): LocalServerPaths {
  const dir = path.join(stateDir(projectDir), "postgres");
  return { dir, dataDir: path.join(dir, "data"), portFile: path.join(dir, "port") };
}

function urlFor(port: number): string {
  return `postgres://postgres@127.0.0.1:${port}/${LOCAL_DATABASE}`;
}

/** URL of the local server if it runs (its postmaster.pid names a live process). */
export function runningLocalUrl(projectDir: string): string | undefined {
  const { dataDir, portFile } = localPaths(projectDir);
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (!fs.existsSync(pidFile) || !fs.existsSync(portFile)) return undefined;
  const pid = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]);
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  return urlFor(Number(fs.readFileSync(portFile, "utf8").trim()));
}

/**
 * Where the coordination database is: `JENKINS_HA_DATABASE_URL` (in production, the
 * stack output `coordination.urls.<role>`), else the local server started by
 * `jenkins-ha db local start`. Nothing found is a refusal: no operation proceeds unlocked.
 */
export function resolveDatabaseUrl(projectDir: string, explicit?: string): string {
  const url = explicit ?? process.env[DATABASE_URL_ENV] ?? runningLocalUrl(projectDir);
  if (!url) {
    throw new CoordinationUnavailable(
      `no database configured: set ${DATABASE_URL_ENV} (stack output coordination.urls) or run 'jenkins-ha db local start' for a local one`,
    );
  }
  return url;
}

export function openDatabase(projectDir: string, explicit?: string): Database {
  return new Database(resolveDatabaseUrl(projectDir, explicit));
}

/**
 * Starts the embedded PostgreSQL in the state folder (detached, so it outlives the CLI),
 * creates the database and the roles, and migrates it. Idempotent: a running server is
 * reused. Returns its URL.
 */
export async function startLocalDatabase(projectDir: string, port: number): Promise<{ url: string; started: boolean }> {
  const running = runningLocalUrl(projectDir);
  if (running) return { url: running, started: false };
  const { dir, dataDir, portFile } = localPaths(projectDir);
  fs.mkdirSync(dir, { recursive: true });
  // The server runs as `postgres` when we are root: it must be able to enter the folder.
  fs.chmodSync(dir, 0o755);
  await new LocalPostgres(dataDir, port).start({ detached: true });
  fs.writeFileSync(portFile, `${port}\n`);
  const admin = new Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [LOCAL_DATABASE]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${LOCAL_DATABASE}`);
  } finally {
    await admin.end();
  }
  const db = new Database(urlFor(port));
  try {
    await migrate(db, { createRoles: true });
  } finally {
    await db.close();
  }
  return { url: urlFor(port), started: true };
}

export function stopLocalDatabase(projectDir: string): boolean {
  return LocalPostgres.stopDataDir(localPaths(projectDir).dataDir);
}
