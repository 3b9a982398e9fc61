import { OperatorError } from "../cli/errors";

export class EscalationFailed extends OperatorError {}

export interface EscalationTarget {
  url: string;
  /** `alertmanager`: a list of alerts as Alertmanager's POST /api/v2/alerts takes; `json`: one plain object. */
  format: "alertmanager" | "json";
  timeoutMs?: number;
}

/** An escalation URL ending in /api/v2/alerts is Alertmanager's API; anything else gets plain JSON. */
export function escalationTarget(url: string): EscalationTarget {
  return { url, format: /\/api\/v[12]\/alerts\/?$/.test(url) ? "alertmanager" : "json" };
}

/**
 * Sends an escalation. Alertmanager's own API gets an alert (`HealerEscalation`, labelled
 * with the team) that routes like any other; a plain webhook gets one JSON object. A
 * failure throws: the healer then still marks the team as needing a human (the flag is
 * in the database) and logs the failure loudly.
 */
export async function sendEscalation(
  target: EscalationTarget,
  body: { team: string; reason: string; evidence: string[]; healer: string; at: Date },
): Promise<void> {
  const payload =
    target.format === "alertmanager"
      ? [
          {
            labels: { alertname: "HealerEscalation", team: body.team, severity: "critical", source: "jenkins-ha-healer" },
            annotations: { summary: `jenkins-ha healer needs a human for ${body.team}`, description: `${body.reason}\n${body.evidence.join("\n")}`, healer: body.healer },
            startsAt: body.at.toISOString(),
          },
        ]
      : { kind: "jenkins-ha.heal.escalation", ...body, at: body.at.toISOString(), resume: `jenkins-ha heal resume --team ${body.team} --reason '<what you fixed>'` };
  let res: Response;
  try {
    res = await fetch(target.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(target.timeoutMs ?? 10_000),
    });
    await res.arrayBuffer();
  } catch (err) {
    throw new EscalationFailed(`escalation webhook ${target.url} unreachable (${err instanceof Error ? err.message : String(err)}); check healing.escalationWebhookUrl`, { cause: err });
  }
  if (!res.ok) throw new EscalationFailed(`escalation webhook ${target.url} answered ${res.status}; check healing.escalationWebhookUrl and the receiver's logs`);
}
