/** One HTTP GET with a deadline; ok = 2xx/3xx/403 (Jenkins answers 403 on pages when logged out). */
export async function httpProbe(url: string, timeoutMs: number): Promise<{ ok: boolean; latencyMs: number; status?: number; error?: string }> {
  const started = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    await res.arrayBuffer();
    const ok = (res.status >= 200 && res.status < 400) || res.status === 403;
    return { ok, latencyMs: performance.now() - started, status: res.status };
  } catch (err) {
    return { ok: false, latencyMs: performance.now() - started, error: err instanceof Error ? err.message : String(err) };
  }
}
