/** Evidence from each source about one colour of one team; a source that was not asked is absent. */
export interface HealthEvidence {
  http?: { ok: boolean; status?: number; latencyMs: number; error?: string };
  /** `/metrics/<key>/healthcheck` of the Jenkins Metrics plugin, when a key is configured. */
  healthcheck?: { ok: boolean; status?: number; error?: string };
  /** HAProxy's view: server status in `show stat` (UP, DOWN, MAINT, NOLB, ...). */
  haproxy?: { status: string };
  /** Docker's view of the container. */
  docker?: { state: string; health?: string; restartCount?: number };
  /** Firing Alertmanager alerts for the team (names). */
  alerts?: string[];
}

export interface HealthVerdict {
  healthy: boolean;
  /** One line per source, e.g. "http: /login 200 in 35 ms". */
  evidence: string[];
  /** The sources that said unhealthy. */
  failing: string[];
}

/**
 * One verdict from every source. Pure. Any source that positively reports a failure makes
 * the colour unhealthy; the direct HTTP probe is required (no probe = no verdict of health).
 */
export function judge(e: HealthEvidence): HealthVerdict {
  const evidence: string[] = [];
  const failing: string[] = [];
  const note = (source: string, ok: boolean, line: string) => {
    evidence.push(`${source}: ${line}`);
    if (!ok) failing.push(source);
  };
  if (e.http) {
    note("http", e.http.ok, e.http.ok ? `/login ${e.http.status} in ${Math.round(e.http.latencyMs)} ms` : `/login failed (${e.http.status ?? e.http.error ?? "no answer"})`);
  } else {
    note("http", false, "not probed");
  }
  if (e.healthcheck) {
    note("healthcheck", e.healthcheck.ok, e.healthcheck.ok ? "metrics healthcheck ok" : `metrics healthcheck failing (${e.healthcheck.status ?? e.healthcheck.error})`);
  }
  if (e.haproxy) {
    const ok = e.haproxy.status.startsWith("UP") || e.haproxy.status === "no check";
    note("haproxy", ok, `server ${e.haproxy.status}`);
  }
  if (e.docker) {
    const ok = e.docker.state === "running" && e.docker.health !== "unhealthy";
    note("docker", ok, `container ${e.docker.state}${e.docker.health ? `, health ${e.docker.health}` : ""}`);
  }
  if (e.alerts && e.alerts.length > 0) note("alerts", false, `firing: ${e.alerts.join(", ")}`);
  return { healthy: failing.length === 0, evidence, failing };
}
