import * as path from "path";
import { readStackFile, stackFilePath } from "../../config/load";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** The committed `Pulumi.<stack>.yaml` config (the `jenkins-ha:*` keys). */
export function stackConfig(stack: string): Record<string, unknown> {
  return readStackFile(stackFilePath(PROJECT_DIR, stack));
}

/** A deep copy, so a test can change a config without touching others. */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * A valid config with `count` teams on `hosts` hosts (round-robin), ports laid out like
 * prod: public 8000+i, blue web 8100+i... chosen so that 100 teams never collide.
 */
export function generatedConfig(count: number, hosts = 1): Record<string, unknown> {
  const hostEntries = Object.fromEntries(
    Array.from({ length: hosts }, (_, i) => [`vm${i + 1}`, i === 0 ? "unix:///var/run/docker.sock" : `ssh://deploy@vm${i + 1}`]),
  );
  const teams = Object.fromEntries(
    Array.from({ length: count }, (_, i) => [
      `team-${String(i + 1).padStart(3, "0")}`,
      {
        activeEnvironment: i % 3 === 0 ? "green" : "blue",
        publicPort: 10000 + i,
        webPort: 20000 + i,
        agentPort: 30000 + i,
        host: `vm${(i % hosts) + 1}`,
      },
    ]),
  );
  return {
    hosts: hostEntries,
    platform: { haproxy: { host: "vm1" }, resourceOptimised: true },
    teams,
  };
}
