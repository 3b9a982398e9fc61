import { COLOURS, Colour } from "../../config/schema";
import { TrafficPort } from "../switch/ports";
import { HaproxyRuntime, HaproxyRuntimeError, StatRow } from "./haproxy-runtime";

/**
 * Moves a team's traffic between colours with runtime weights (out of 100). The weight
 * that grows is set first, so the backend never has both servers at weight 0.
 */
export class HaproxyTraffic implements TrafficPort {
  constructor(private readonly runtime: HaproxyRuntime) {}

  async setTargetPercent(backend: string, source: Colour, target: Colour, percent: number): Promise<void> {
    const targetWeight = Math.round(percent);
    const sourceWeight = 100 - targetWeight;
    const current = await this.runtime.getWeight(backend, target);
    if (targetWeight >= current.current) {
      await this.runtime.setWeight(backend, target, targetWeight);
      await this.runtime.setWeight(backend, source, sourceWeight);
    } else {
      await this.runtime.setWeight(backend, source, sourceWeight);
      await this.runtime.setWeight(backend, target, targetWeight);
    }
  }

  async restoreConfiguredWeights(backend: string): Promise<void> {
    for (const server of COLOURS) {
      const { current, initial } = await this.runtime.getWeight(backend, server);
      if (current !== initial) await this.runtime.setWeight(backend, server, initial);
    }
  }

  async readServer(backend: string, server: Colour): Promise<StatRow> {
    const row = (await this.runtime.showStat()).find((r) => r.pxname === backend && r.svname === server);
    if (!row) throw new HaproxyRuntimeError(`HAProxy has no server ${backend}/${server}; is the stack deployed with this team?`);
    return row;
  }
}
