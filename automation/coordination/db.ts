import { Pool, PoolClient } from "pg";
import { asCoordinationError } from "./errors";

/** A small pool; every call maps "cannot reach the database" to CoordinationUnavailable. */
export class Database {
  readonly pool: Pool;

  constructor(readonly url: string, options: { max?: number; connectTimeoutMs?: number } = {}) {
    this.pool = new Pool({ connectionString: url, max: options.max ?? 4, connectionTimeoutMillis: options.connectTimeoutMs ?? 5000 });
    // An idle client losing its server must not crash the process.
    this.pool.on("error", () => undefined);
  }

  async query<T extends Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
    try {
      return (await this.pool.query<T>(text, values)).rows;
    } catch (err) {
      throw asCoordinationError(err);
    }
  }

  /** Runs `work` in one transaction; rolled back on any error. */
  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw asCoordinationError(err);
    }
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw asCoordinationError(err);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
