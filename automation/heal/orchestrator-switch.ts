import { PlatformModel } from "../../config/model";
import { Colour } from "../../config/schema";
import { Database } from "../coordination/db";
import { LocalWorkspaceStackOperations } from "../switch/local-workspace";
import { SwitchOutcome } from "../switch/ports";
import { HaproxyRuntime } from "../traffic/haproxy-runtime";
import { HaproxyTraffic } from "../traffic/haproxy-traffic";
import { wireOrchestrator } from "../switch/wiring";
import { HealLog } from "./logger";
import { OrchestratorSwitchRequester, SwitchRequester } from "./switch-requester";

/**
 * The real switch orchestrator for `heal run` (automation/switch/wiring.ts), on the Pulumi
 * workspace of the project dir. Built at the first switch request, not at start: the
 * Automation API needs the Pulumi CLI, a backend and the passphrase, and a healer that
 * lacks them must still restart and escalate — a switch it cannot start is "refused",
 * and the healer escalates. The orchestrator's progress goes to the healer's logs.
 */
export class LazyOrchestratorSwitchRequester implements SwitchRequester {
  private inner?: Promise<SwitchRequester>;
  private readonly abort = new AbortController();

  constructor(
    private readonly o: {
      model: PlatformModel;
      projectDir: string;
      database: Database;
      actor: string;
      log: HealLog;
      /**
       * The HAProxy admin socket as this process sees it (`heal run --haproxy-socket`; in the
       * Healer container the runtime dir is mounted elsewhere than on the host). Default: the
       * config's `<platform.haproxy.runtimeDir>/admin.sock`.
       */
      haproxySocket?: string;
    },
  ) {}

  private build(): Promise<SwitchRequester> {
    this.inner ??= (async () => {
      const stack = await LocalWorkspaceStackOperations.select({ projectDir: this.o.projectDir, stackName: this.o.model.stack });
      const { orchestrator } = wireOrchestrator({
        model: this.o.model,
        stack,
        database: this.o.database,
        actor: this.o.actor,
        traffic: this.o.haproxySocket ? new HaproxyTraffic(new HaproxyRuntime(this.o.haproxySocket)) : undefined,
        signal: this.abort.signal,
        progress: (e) => this.o.log({ level: "info", msg: `switch: ${e.message}`, team: e.team, step: e.step, percent: e.percent, breaches: e.breaches }),
      });
      return new OrchestratorSwitchRequester(orchestrator, this.o.actor);
    })();
    this.inner.catch(() => (this.inner = undefined)); // try again at the next request
    return this.inner;
  }

  async switchTo(team: string, to: Colour, reason: string): Promise<{ outcome: SwitchOutcome; reason?: string }> {
    let requester: SwitchRequester;
    try {
      requester = await this.build();
    } catch (err) {
      return { outcome: "refused", reason: `cannot start the switch orchestrator (${err instanceof Error ? err.message : String(err)}); needs the Pulumi CLI, PULUMI_BACKEND_URL and the stack passphrase` };
    }
    return requester.switchTo(team, to, reason);
  }

  /** SIGTERM: a running switch stops and rolls back. */
  stop(): void {
    this.abort.abort("healer stopping");
  }
}
