import { randomBytes } from "crypto";
import Docker from "dockerode";
import { dockerClient, ensureStandInImage } from "./docker";
import { httpGet } from "./standin-jenkins";
import { waitFor } from "./tools";

/**
 * A stand-in Jenkins controller container (busybox httpd from the locally built stand-in
 * image, not Jenkins) published on 127.0.0.1:<port>, named like the program names a
 * colour's container. It can be told to fail once (a restart heals it) or for good.
 */
export class StandInContainer {
  private constructor(
    readonly docker: Docker,
    readonly name: string,
    readonly port: number,
  ) {}

  static async start(name: string, port: number): Promise<StandInContainer> {
    const image = ensureStandInImage();
    const docker = dockerClient();
    await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
    const container = await docker.createContainer({
      name,
      Image: image,
      Labels: { "jenkins-ha.test": "heal" },
      ExposedPorts: { "8080/tcp": {} },
      HostConfig: { PortBindings: { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] } },
    });
    await container.start();
    const c = new StandInContainer(docker, name, port);
    await c.waitServing();
    return c;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async waitServing(timeoutMs = 15000): Promise<void> {
    await waitFor(`${this.name} serving /login`, async () => (await httpGet(`${this.url}/login`, 1000)).status === 200, timeoutMs, 100);
  }

  private async exec(script: string): Promise<void> {
    const exec = await this.docker.getContainer(this.name).exec({ Cmd: ["sh", "-c", script], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({});
    await new Promise<void>((resolve) => {
      stream.on("end", () => resolve());
      stream.on("close", () => resolve());
      stream.resume();
    });
  }

  /** /login answers 404 until the container restarts (the entrypoint recreates it). */
  breakUntilRestart(): Promise<void> {
    return this.exec("rm -f /www/login");
  }

  /** /login fails across restarts too (until `heal()`). */
  breakForGood(): Promise<void> {
    return this.exec("echo broken > /state/broken; rm -f /www/login");
  }

  heal(): Promise<void> {
    return this.exec("rm -f /state/broken; echo ok > /www/login");
  }

  async startedAt(): Promise<string> {
    return (await this.docker.getContainer(this.name).inspect()).State.StartedAt;
  }

  async remove(): Promise<void> {
    await this.docker.getContainer(this.name).remove({ force: true }).catch(() => undefined);
  }
}

/** A team name no other test run uses (container names derive from it). */
export function uniqueTeam(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}
