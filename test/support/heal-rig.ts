import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { loadPlatformModel } from "../../config/load";
import { PlatformModel } from "../../config/model";
import { TeamHealingConfig } from "../../config/sections/healing";
import { HealLog } from "../../automation/heal/logger";
import { freePort, freePortPair } from "./tools";

export interface HealRigTeam {
  name: string;
  webPort: number;
  healing: Partial<TeamHealingConfig>;
  /** Declare both colours as normal HAProxy servers (blue 100, green 0), as during a staged switch. */
  staged?: boolean;
}

/** Healing policy for tests: a short interval and recovery wait; threshold as the seed's. */
export const FAST_HEALING: Partial<TeamHealingConfig> = { mode: "on", intervalSeconds: 1, failureThreshold: 3, recoveryWaitSeconds: 3, maxActions: 3, actionWindowMinutes: 60 };
export const TEST_INTERVAL_MS = 300;

/** Raw stack config (as in Pulumi.<stack>.yaml) for teams on this machine's Docker. */
export async function rigConfig(dir: string, teams: HealRigTeam[], extra: { escalationWebhookUrl?: string } = {}): Promise<Record<string, unknown>> {
  const statsPort = await freePort();
  const teamEntries: Record<string, unknown> = {};
  for (const t of teams) {
    teamEntries[t.name] = {
      activeEnvironment: "blue",
      webPort: t.webPort,
      agentPort: await freePortPair(),
      publicPort: await freePort(),
      host: "local",
      standbyRunning: true,
      healing: t.healing,
      ...(t.staged
        ? {
            switchRecord: {
              id: `stage-${t.name}`,
              requestedBy: "heal-test",
              reason: "test: both colours as normal servers",
              from: "blue",
              to: "green",
              backupId: "test",
              backupVerifiedAt: new Date().toISOString(),
              requestedAt: new Date().toISOString(),
            },
          }
        : {}),
    };
  }
  return {
    hosts: { local: "unix:///var/run/docker.sock" },
    platform: { haproxy: { host: "local", statsPort, runtimeDir: dir, checkIntervalSeconds: 1 }, resourceOptimised: false },
    teams: teamEntries,
    healing: { port: 19095, ...extra },
  };
}

export function rigModel(raw: Record<string, unknown>): PlatformModel {
  return loadPlatformModel("heal-test", raw);
}

/** Writes the config as a `Pulumi.<stack>.yaml` file (for the CLI's --stack-file). */
export function writeStackFile(dir: string, raw: Record<string, unknown>): string {
  const file = path.join(dir, "Pulumi.heal-test.yaml");
  fs.writeFileSync(file, YAML.stringify({ config: Object.fromEntries(Object.entries(raw).map(([k, v]) => [`jenkins-ha:${k}`, v])) }));
  return file;
}

/** A log sink for tests: keeps events, prints nothing. */
export function collectingLog(): { log: HealLog; events: Array<Record<string, unknown>> } {
  const events: Array<Record<string, unknown>> = [];
  return { events, log: (e) => events.push(e) };
}
