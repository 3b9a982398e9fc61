// Child process for the coordination tests: takes a lease, prints it, then waits to be
// killed (SIGKILL: it never renews or releases). Usage: tsx lease-holder.ts <url> <name> <ttl>
import { Database } from "../../automation/coordination/db";
import { LeaseStore } from "../../automation/coordination/lease";

async function main() {
  const [url, name, ttl] = process.argv.slice(2);
  const db = new Database(url);
  const lease = await new LeaseStore(db).acquire(name, `pid:${process.pid}`, Number(ttl));
  process.stdout.write(`${JSON.stringify(lease)}\n`);
  setInterval(() => undefined, 1000);
}
void main();
