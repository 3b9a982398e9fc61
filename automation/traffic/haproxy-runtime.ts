import * as net from "net";
import { OperatorError } from "../cli/errors";

export class HaproxyRuntimeError extends OperatorError {}

/** One row of `show stat` (the CSV HAProxy documents in its management guide). */
export interface StatRow {
  pxname: string;
  svname: string;
  status: string;
  weight: number;
  /** Requests/sessions served (cumulative). */
  stot: number;
  hrsp_1xx: number;
  hrsp_2xx: number;
  hrsp_3xx: number;
  hrsp_4xx: number;
  hrsp_5xx: number;
  hrsp_other: number;
  /** Average response time over the last 1024 requests, ms. */
  rtime: number;
  /** Failed connections / responses toward the server. */
  econ: number;
  eresp: number;
  raw: Record<string, string>;
}

/**
 * Client for HAProxy's runtime API on its admin socket (a unix socket, or `host:port`).
 * One connection per command, as the API's non-interactive mode expects.
 */
export class HaproxyRuntime {
  constructor(
    private readonly socket: string,
    private readonly timeoutMs = 5000,
  ) {}

  command(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const target = this.socket.includes("/") ? { path: this.socket } : hostPort(this.socket);
      const conn = net.createConnection(target);
      let out = "";
      conn.setEncoding("utf8");
      conn.setTimeout(this.timeoutMs, () => {
        conn.destroy();
        reject(new HaproxyRuntimeError(`HAProxy admin socket ${this.socket} did not answer '${line}' within ${this.timeoutMs} ms; check that HAProxy runs and the socket path is right`));
      });
      conn.on("connect", () => conn.end(`${line}\n`));
      conn.on("data", (chunk: string) => (out += chunk));
      conn.on("error", (err) =>
        reject(
          new HaproxyRuntimeError(
            `cannot reach HAProxy admin socket ${this.socket} (${err.message}); check that HAProxy runs and that this user may open the socket`,
            { cause: err },
          ),
        ),
      );
      conn.on("close", () => resolve(out));
    });
  }

  /** Sets a server's runtime weight (0-256); refuses anything HAProxy answers besides success. */
  async setWeight(backend: string, server: string, weight: number): Promise<void> {
    if (!Number.isInteger(weight) || weight < 0 || weight > 256) {
      throw new HaproxyRuntimeError(`weight ${weight} for ${backend}/${server} is not an integer between 0 and 256`);
    }
    const answer = (await this.command(`set server ${backend}/${server} weight ${weight}`)).trim();
    if (answer !== "") throw new HaproxyRuntimeError(`HAProxy refused 'set server ${backend}/${server} weight ${weight}': ${answer}`);
  }

  /** Current and initial (configured) weight of a server. */
  async getWeight(backend: string, server: string): Promise<{ current: number; initial: number }> {
    const answer = (await this.command(`get weight ${backend}/${server}`)).trim();
    const match = /^(\d+) \(initial (\d+)\)$/.exec(answer);
    if (!match) throw new HaproxyRuntimeError(`unexpected answer to 'get weight ${backend}/${server}': ${answer}`);
    return { current: Number(match[1]), initial: Number(match[2]) };
  }

  /** `set server <b>/<s> state ready|drain|maint`. */
  async setState(backend: string, server: string, state: "ready" | "drain" | "maint"): Promise<void> {
    const answer = (await this.command(`set server ${backend}/${server} state ${state}`)).trim();
    if (answer !== "") throw new HaproxyRuntimeError(`HAProxy refused 'set server ${backend}/${server} state ${state}': ${answer}`);
  }

  async showStat(): Promise<StatRow[]> {
    return parseShowStat(await this.command("show stat"));
  }

  /** The text HAProxy loads with `load-server-state-from-file` (saved before a reload). */
  async showServersState(): Promise<string> {
    return this.command("show servers state");
  }
}

function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

/** Parses `show stat` CSV (header line starts with "# "). */
export function parseShowStat(csv: string): StatRow[] {
  const lines = csv.split("\n").filter((l) => l.trim() !== "");
  if (lines.length === 0 || !lines[0].startsWith("# ")) return [];
  const header = lines[0].slice(2).split(",");
  const num = (v: string | undefined) => (v === undefined || v === "" ? 0 : Number(v));
  return lines.slice(1).map((line) => {
    const cells = line.split(",");
    const raw = Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ""]));
    return {
      pxname: raw.pxname,
      svname: raw.svname,
      status: raw.status,
      weight: num(raw.weight),
      stot: num(raw.stot),
      hrsp_1xx: num(raw.hrsp_1xx),
      hrsp_2xx: num(raw.hrsp_2xx),
      hrsp_3xx: num(raw.hrsp_3xx),
      hrsp_4xx: num(raw.hrsp_4xx),
      hrsp_5xx: num(raw.hrsp_5xx),
      hrsp_other: num(raw.hrsp_other),
      rtime: num(raw.rtime),
      econ: num(raw.econ),
      eresp: num(raw.eresp),
      raw,
    };
  });
}
