import { Colour } from "../../config/schema";

/** One alert of an Alertmanager webhook notification (payload version 4). */
export interface AlertmanagerAlert {
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  fingerprint?: string;
}

/** The Alertmanager webhook body (`version: "4"`). */
export interface AlertmanagerNotification {
  version: string;
  status: "firing" | "resolved";
  receiver?: string;
  alerts: AlertmanagerAlert[];
}

interface HeldAlert {
  team: string;
  environment?: string;
  name: string;
  lastSeen: number;
}

/** Rejects a body that is not an Alertmanager notification, saying what is wrong. */
export function parseNotification(body: unknown): AlertmanagerNotification {
  const b = body as Partial<AlertmanagerNotification> | null;
  if (!b || typeof b !== "object" || !Array.isArray(b.alerts)) throw new Error("not an Alertmanager webhook body: 'alerts' array missing");
  for (const a of b.alerts) {
    if (!a || typeof a !== "object" || (a.status !== "firing" && a.status !== "resolved") || typeof a.labels !== "object" || a.labels === null) {
      throw new Error("not an Alertmanager webhook body: every alert needs status firing|resolved and labels");
    }
  }
  return { version: String(b.version ?? ""), status: b.status === "resolved" ? "resolved" : "firing", receiver: b.receiver, alerts: b.alerts };
}

/**
 * Firing alerts per team, as the Alertmanager webhook reported them. Alertmanager sends a
 * firing alert again only every `repeat_interval`, so an alert stays firing here until a
 * `resolved` notification arrives or it was not re-sent for `staleAfterMs` (a lost resolve
 * must not keep a team "unhealthy" for ever). Alerts without a `team` label are platform
 * alerts and not a reason to heal one team.
 */
export class AlertInbox {
  private readonly alerts = new Map<string, HeldAlert>();
  received = 0;

  constructor(
    private readonly staleAfterMs = 6 * 3600_000,
    private readonly now: () => number = Date.now,
  ) {}

  accept(notification: AlertmanagerNotification): void {
    this.received++;
    for (const a of notification.alerts) {
      const team = a.labels.team;
      if (!team) continue;
      const id = a.fingerprint ?? JSON.stringify(Object.entries(a.labels).sort());
      if (a.status === "resolved") this.alerts.delete(id);
      else this.alerts.set(id, { team, environment: a.labels.environment, name: a.labels.alertname ?? "unnamed", lastSeen: this.now() });
    }
  }

  /** Names of the alerts firing for a team's colour (alerts naming no colour count for both). */
  firing(team: string, colour: Colour): string[] {
    const cutoff = this.now() - this.staleAfterMs;
    const names = new Set<string>();
    for (const [id, a] of this.alerts) {
      if (a.lastSeen < cutoff) {
        this.alerts.delete(id);
        continue;
      }
      if (a.team === team && (a.environment === undefined || a.environment === colour)) names.add(a.name);
    }
    return [...names].sort();
  }
}
