import YAML from "yaml";
import { PlatformModel } from "../config/model";
import { ALERT } from "./alert-rules";
import { healerHost } from "./monitoring-targets";
import { header } from "./prometheus";

export const PLATFORM_RECEIVER = "platform";

export function teamReceiver(team: string): string {
  return `team-${team}`;
}

/** The healer's Alertmanager webhook: config, else `http://<healer host>:<healing.port>/alertmanager`. */
export function healerWebhookUrl(model: PlatformModel): string {
  return model.config.monitoring.healerWebhookUrl ?? `http://${healerHost(model).address}:${model.config.healing.port}/alertmanager`;
}

function webhooks(urls: Array<string | undefined>) {
  return urls.filter((u): u is string => u !== undefined).map((url) => ({ url, send_resolved: true }));
}

/**
 * One route per team (its receiver notifies the healer and the team's own webhook), the
 * platform receiver for everything else. Inhibition keeps a platform-wide cause from paging
 * once per team: the healer then sees the one platform alert, not N team restarts to do.
 */
export function renderAlertmanagerConfig(model: PlatformModel): string {
  const r = model.config.monitoring.routing;
  const healer = healerWebhookUrl(model);
  const config = {
    global: { resolve_timeout: "5m" },
    route: {
      receiver: PLATFORM_RECEIVER,
      group_by: ["alertname", "team", "host"],
      group_wait: `${r.groupWaitSeconds}s`,
      group_interval: `${r.groupIntervalMinutes}m`,
      repeat_interval: `${r.repeatIntervalHours}h`,
      routes: model.teams.map((team) => ({
        receiver: teamReceiver(team.name),
        matchers: [`team="${team.name}"`],
      })),
    },
    receivers: [
      { name: PLATFORM_RECEIVER, webhook_configs: webhooks([healer, r.platformWebhookUrl]) },
      ...model.teams.map((team) => ({
        name: teamReceiver(team.name),
        webhook_configs: webhooks([healer, r.teamWebhooks[team.name]]),
      })),
    ],
    inhibit_rules: [
      // Half the platform down: one page, not one per team.
      { source_matchers: [`alertname="${ALERT.platformOutage}"`], target_matchers: ['scope="team"'] },
      // HAProxy gone: every team's SLI is unknown; the cause is HAProxy.
      { source_matchers: [`alertname="${ALERT.haproxyDown}"`], target_matchers: ['scope="team"', 'source="haproxy"'] },
      // A host gone: its teams are down because of it.
      { source_matchers: [`alertname="${ALERT.hostDown}"`], target_matchers: ['scope="team"'], equal: ["host"] },
      // A team already paged critical: hold its warnings.
      { source_matchers: ['scope="team"', 'severity="critical"'], target_matchers: ['scope="team"', 'severity="warning"'], equal: ["team"] },
    ],
  };
  return header(model, "alertmanager.yml") + YAML.stringify(config, { lineWidth: 0 });
}
