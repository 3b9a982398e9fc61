import * as http from "http";

export interface LoadResult {
  sent: number;
  failed: number;
  byColour: Record<string, number>;
  seconds: number;
  failures: string[];
  /** The slowest answer, to tell a slow step from a lost request. */
  maxLatencyMs: number;
}

/**
 * How long a request may take before it counts as failed. HAProxy itself gives up after
 * `timeout server 60s` (a 504, which counts); the 30 s here is stricter than that, and far
 * above what a healthy switch costs. It is not lower because in these tests the stand-in
 * backends run in the test's own process, next to the Pulumi test double, whose program
 * runs stall that process's event loop for seconds on a busy 2-core machine: a slow answer
 * then is latency (judged by the SLI gates), not a lost request.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Steady HTTP load on a loopback URL from `concurrency` loops, until stopped or `maxRequests`
 * or `maxSeconds` is reached (always bounded). A failed request is a connection error, a
 * timeout or a status >= 500.
 */
export class LoadGenerator {
  private stopping = false;
  private loops: Promise<void>[] = [];
  private started = 0;
  readonly result: LoadResult = { sent: 0, failed: 0, byColour: {}, seconds: 0, failures: [], maxLatencyMs: 0 };
  private readonly agent: http.Agent;

  constructor(
    private readonly url: string,
    private readonly options: { concurrency?: number; maxRequests?: number; maxSeconds?: number; pauseMs?: number } = {},
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency ?? 4 });
  }

  start(): this {
    this.started = Date.now();
    const concurrency = this.options.concurrency ?? 4;
    for (let i = 0; i < concurrency; i++) this.loops.push(this.loop());
    return this;
  }

  private get exhausted(): boolean {
    const maxRequests = this.options.maxRequests ?? 200000;
    const maxMs = (this.options.maxSeconds ?? 300) * 1000;
    return this.result.sent >= maxRequests || Date.now() - this.started >= maxMs;
  }

  private async loop(): Promise<void> {
    while (!this.stopping && !this.exhausted) {
      this.result.sent++;
      const t0 = Date.now();
      try {
        const { status, colour } = await this.once();
        this.result.maxLatencyMs = Math.max(this.result.maxLatencyMs, Date.now() - t0);
        if (status >= 500) this.fail(`status ${status}`);
        else this.result.byColour[colour] = (this.result.byColour[colour] ?? 0) + 1;
      } catch (err) {
        this.fail(err instanceof Error ? err.message : String(err));
      }
      if (this.options.pauseMs) await new Promise((r) => setTimeout(r, this.options.pauseMs));
    }
  }

  private fail(why: string) {
    this.result.failed++;
    if (this.result.failures.length < 20) this.result.failures.push(why);
  }

  private once(): Promise<{ status: number; colour: string }> {
    return new Promise((resolve, reject) => {
      const req = http.get(this.url, { agent: this.agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, colour: String(res.headers["x-jenkins-environment"] ?? "?") }));
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", reject);
    });
  }

  /** Resets the per-colour counts (e.g. to see where traffic goes after a switch). */
  resetColours(): void {
    this.result.byColour = {};
  }

  async stop(): Promise<LoadResult> {
    this.stopping = true;
    await Promise.all(this.loops);
    this.agent.destroy();
    this.result.seconds = (Date.now() - this.started) / 1000;
    return this.result;
  }
}
