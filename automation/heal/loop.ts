import { Healer } from "./healer";

/**
 * Runs the healer: each team on its own `intervalSeconds` (teams do not wait for each
 * other's slow probes). `stop()` lets a check in progress finish — an action is never cut
 * in half by SIGTERM — and resolves when every team's chain has ended.
 */
export class HealLoop {
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly wakers = new Set<() => void>();
  private running?: Promise<void>;
  lastRoundAt?: number;

  constructor(
    private readonly healer: Healer,
    /** Overrides every team's interval (tests, `--interval-seconds`). */
    private readonly intervalMs?: number,
  ) {}

  get alive(): boolean {
    return this.running !== undefined && !this.stopped;
  }

  start(): Promise<void> {
    this.running ??= Promise.all(this.healer.watched.filter((t) => t.policy.mode !== "off").map((t) => this.chain(t.name))).then(() => undefined);
    return this.running;
  }

  private async chain(teamName: string): Promise<void> {
    const team = this.healer.watched.find((t) => t.name === teamName)!;
    const every = this.intervalMs ?? team.policy.intervalSeconds * 1000;
    while (!this.stopped) {
      const started = Date.now();
      await this.healer.checkSafely(team);
      this.lastRoundAt = Date.now();
      await this.sleep(Math.max(0, every - (Date.now() - started)));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const wake = () => {
        clearTimeout(timer);
        this.timers.delete(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.timers.add(timer);
      this.wakers.add(wake);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of [...this.wakers]) wake();
    await this.running;
  }
}
