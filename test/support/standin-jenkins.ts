import * as http from "http";

export type StandInMode = "healthy" | "error" | "slow";

/**
 * A stand-in for a Jenkins controller (not Jenkins): answers `/login` and every other path
 * with 200 and a body naming its colour, or 500s / slow answers when told to. Used where
 * the tests need an HTTP backend on loopback.
 */
export class StandInJenkins {
  mode: StandInMode = "healthy";
  slowMs = 2500;
  requests = 0;
  /** Requests other than `GET /login` (which is also what HAProxy's health check sends). */
  pageRequests = 0;
  private server?: http.Server;
  private readonly sockets = new Set<import("net").Socket>();

  constructor(
    readonly colour: string,
    readonly port: number,
  ) {}

  async start(): Promise<this> {
    if (this.server) return this;
    const server = http.createServer((req, res) => {
      this.requests++;
      if (req.url !== "/login") this.pageRequests++;
      const send = (status: number) => {
        res.writeHead(status, { "content-type": "text/plain", "x-stand-in": "jenkins" });
        res.end(`${this.colour}\n`);
      };
      if (this.mode === "error") send(500);
      else if (this.mode === "slow") setTimeout(() => send(200), this.slowMs);
      else send(200);
    });
    server.keepAliveTimeout = 1000;
    server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    return this;
  }

  /** Whether it is listening (a "running container"). */
  get running(): boolean {
    return this.server !== undefined;
  }

  /** Stops listening and drops open connections, like a controller that died. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** GET a URL on loopback; resolves with status, headers and body (never throws on HTTP errors). */
export function httpGet(url: string, timeoutMs = 5000): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}
