/**
 * The two Jenkins calls a sync makes on the source controller, each with a short timeout:
 * an unreachable controller (stopped, or a DR drill on plain dirs) is fine and reported.
 * Auth, when Jenkins needs it for POST (it does with security on), is `user:apiToken` in
 * `JENKINS_HA_SOURCE_AUTH`; an API token needs no CSRF crumb.
 */

export interface QuietDownResult {
  requested: boolean;
  reachable: boolean;
  status?: number;
  error?: string;
}

function headers(auth: string | undefined): Record<string, string> {
  return auth ? { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } : {};
}

function base(url: string): string {
  return url.replace(/\/+$/, "");
}

export async function requestQuietDown(url: string, timeoutMs: number, auth?: string): Promise<QuietDownResult> {
  try {
    const res = await fetch(`${base(url)}/quietDown`, { method: "POST", headers: headers(auth), signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    await res.arrayBuffer().catch(() => undefined);
    // Jenkins answers 302 (to the home page) or 200 when it accepted the request.
    const ok = res.status < 400;
    return { requested: ok, reachable: true, status: res.status, error: ok ? undefined : `HTTP ${res.status}` };
  } catch (err) {
    return { requested: false, reachable: false, error: describe(err) };
  }
}

/** Busy executors of the controller and its agents, or null when it cannot be asked. */
export async function busyExecutors(url: string, timeoutMs: number, auth?: string): Promise<number | null> {
  try {
    const res = await fetch(`${base(url)}/computer/api/json?tree=busyExecutors`, { headers: headers(auth), signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return null;
    const body = (await res.json()) as { busyExecutors?: unknown };
    return typeof body.busyExecutors === "number" ? body.busyExecutors : null;
  } catch {
    return null;
  }
}

/** Any HTTP answer on `/login` counts as running (used as the "is this colour running" probe). */
export async function answers(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(`${base(url)}/login`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    return true;
  } catch {
    return false;
  }
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string } };
  if (e?.name === "TimeoutError") return "timed out";
  return e?.cause?.code ?? e?.message ?? String(err);
}
