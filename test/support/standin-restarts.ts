import { ContainerControl, ContainerState } from "../../automation/heal/docker-ports";
import { StandInJenkins } from "./standin-jenkins";

/**
 * TEST STAND-IN for the Docker engine as the healer uses it (state and restart of a
 * colour's container), over the in-process stand-in backends of the switch harness (HTTP
 * servers, not containers). A "restart" stops and starts the backend's server for real but
 * keeps its mode: a backend told to fail keeps failing, i.e. a restart that does not help.
 * Every restart is recorded.
 */
export class StandInRestarts implements ContainerControl {
  readonly restarts: string[] = [];

  constructor(private readonly backend: (team: string, colour: string) => StandInJenkins | undefined) {}

  private find(name: string): StandInJenkins | undefined {
    const m = /^jenkins-(.+)-(blue|green)$/.exec(name);
    return m ? this.backend(m[1], m[2]) : undefined;
  }

  async state(name: string): Promise<ContainerState> {
    const b = this.find(name);
    return { state: !b ? "missing" : b.running ? "running" : "exited" };
  }

  async restart(name: string): Promise<void> {
    const b = this.find(name);
    if (!b) throw new Error(`stand-in restarts: no stand-in backend for container ${name}`);
    this.restarts.push(name);
    await b.stop();
    await b.start();
  }
}
