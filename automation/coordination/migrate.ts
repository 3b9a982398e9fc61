import * as fs from "fs";
import * as path from "path";
import { OperatorError } from "../cli/errors";
import { Database } from "./db";

export const MIGRATIONS_DIR = path.join(__dirname, "migrations");
export const GRANTS_FILE = path.join(__dirname, "grants.sql");
export const DATABASE_ROLES = ["orchestrator", "healer", "reader"] as const;
export type DatabaseRole = (typeof DATABASE_ROLES)[number];

export interface MigrationResult {
  applied: number[];
  alreadyApplied: number[];
}

/** Versioned migrations `NNN_name.sql`, in order. */
export function migrationFiles(dir = MIGRATIONS_DIR): Array<{ version: number; file: string }> {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), file: path.join(dir, f) }));
}

/**
 * Applies every migration not yet recorded (each in its own transaction, serialised by an
 * advisory lock so two migrators never race), then the idempotent grants. Re-running
 * changes nothing. `createRoles` creates missing roles without passwords (local use only;
 * in production the CoordinationDatabase component creates them with generated passwords).
 */
export async function migrate(db: Database, options: { createRoles?: boolean } = {}): Promise<MigrationResult> {
  const result: MigrationResult = { applied: [], alreadyApplied: [] };
  await db.transaction(async (c) => {
    await c.query("SELECT pg_advisory_xact_lock(hashtext('jenkins-ha-migrate'))");
    await c.query("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    const done = new Set((await c.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map((r) => r.version));
    for (const { version, file } of migrationFiles()) {
      if (done.has(version)) {
        result.alreadyApplied.push(version);
        continue;
      }
      await c.query(fs.readFileSync(file, "utf8"));
      await c.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [version, path.basename(file)]);
      result.applied.push(version);
    }
    if (options.createRoles) {
      for (const role of DATABASE_ROLES) {
        await c.query(`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role} LOGIN; END IF; END $$`);
      }
    }
    const existing = new Set((await c.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname = ANY($1)", [DATABASE_ROLES])).rows.map((r) => r.rolname));
    const missing = DATABASE_ROLES.filter((r) => !existing.has(r));
    if (missing.length > 0) {
      throw new OperatorError(`roles ${missing.join(", ")} do not exist; the CoordinationDatabase component creates them (or run 'jenkins-ha db migrate --create-roles' on a local database)`);
    }
    await c.query(fs.readFileSync(GRANTS_FILE, "utf8"));
  });
  return result;
}
