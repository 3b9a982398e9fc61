import { Colour } from "../../config/schema";
import { OperatorError } from "../cli/errors";
import { httpProbe } from "../health/http-probe";
import { HealthPort } from "./ports";

export class TargetNeverHealthy extends OperatorError {}

/** Container health as Docker reports it; `undefined` when the colour is not a container here. */
export type ContainerHealth = (team: string, colour: Colour) => Promise<"healthy" | "unhealthy" | "starting" | "none" | undefined>;

/** Health of a colour: `/login` answers, and Docker says the container is healthy (when known). */
export class HttpHealth implements HealthPort {
  constructor(
    private readonly containerHealth?: ContainerHealth,
    private readonly pollMs = 1000,
  ) {}

  probe(url: string, timeoutMs: number) {
    return httpProbe(url, timeoutMs);
  }

  async waitHealthy(team: string, colour: Colour, url: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "no answer yet";
    while (Date.now() < deadline) {
      if (signal.aborted) throw new OperatorError(`waiting for ${team}/${colour} aborted`);
      const login = await httpProbe(`${url}/login`, 5000);
      const container = this.containerHealth ? await this.containerHealth(team, colour) : undefined;
      const containerOk = container === undefined || container === "healthy" || container === "none";
      if (login.status === 200 && containerOk) return;
      last = `/login ${login.status ?? login.error}, container ${container ?? "n/a"}`;
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
    throw new TargetNeverHealthy(`${team}/${colour} at ${url} was not healthy within ${Math.round(timeoutMs / 1000)} s (last: ${last}); traffic was not moved — check 'docker logs jenkins-${team}-${colour}'`);
  }
}
