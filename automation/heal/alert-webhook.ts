import * as http from "http";
import { AlertInbox, parseNotification } from "./alert-inbox";

/** Paths the Alertmanager webhook is accepted on (render/alertmanager.ts uses /alertmanager). */
export const ALERT_PATHS = ["/alerts", "/alertmanager"] as const;
const MAX_BODY = 1024 * 1024;

export interface HealerServerOptions {
  inbox: AlertInbox;
  /** Prometheus text for GET /metrics. */
  metrics: () => string;
  /** GET /healthz: 200 while the healer loop is alive. */
  alive: () => boolean;
  log: (event: Record<string, unknown>) => void;
}

/**
 * The healer's one HTTP port: POST /alerts (and /alertmanager, the path the rendered
 * Alertmanager config uses) accepts Alertmanager webhook notifications; GET /metrics
 * serves the healer's metrics; GET /healthz is the container health check.
 */
export class HealerHttpServer {
  private server?: http.Server;

  constructor(private readonly options: HealerServerOptions) {}

  async listen(port: number, host = "0.0.0.0"): Promise<number> {
    const server = http.createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const address = server.address();
    return typeof address === "object" && address ? address.port : port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = (req.url ?? "/").split("?")[0];
    const send = (status: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (req.method === "GET" && url === "/metrics") return send(200, this.options.metrics(), "text/plain; version=0.0.4; charset=utf-8");
    if (req.method === "GET" && url === "/healthz") return this.options.alive() ? send(200, "ok\n") : send(503, "healer loop stopped\n");
    if ((ALERT_PATHS as readonly string[]).includes(url)) {
      if (req.method !== "POST") return send(405, "POST an Alertmanager webhook notification here\n");
      let size = 0;
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          send(413, "notification too large\n");
          req.destroy();
        } else chunks.push(c);
      });
      req.on("end", () => {
        if (res.headersSent) return;
        try {
          const notification = parseNotification(JSON.parse(Buffer.concat(chunks).toString("utf8")));
          this.options.inbox.accept(notification);
          this.options.log({ level: "info", msg: "alertmanager notification", status: notification.status, alerts: notification.alerts.map((a) => `${a.labels.alertname ?? "?"}/${a.labels.team ?? "-"}:${a.status}`) });
          send(200, "ok\n");
        } catch (err) {
          send(400, `${err instanceof Error ? err.message : String(err)}\n`);
        }
      });
      return;
    }
    send(404, "not found: POST /alerts, GET /metrics, GET /healthz\n");
  }
}
