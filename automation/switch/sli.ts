import { StatRow } from "../traffic/haproxy-runtime";

export interface SliThresholds {
  maxErrorRate: number;
  maxP95Ms: number;
  minAvailability: number;
}

/** What one shift step observed on the target colour. */
export interface StepSample {
  /** Requests HAProxy sent to the target during the step (delta of `stot`). */
  proxiedRequests: number;
  /** Of those, 5xx answers (delta of `hrsp_5xx`). */
  proxied5xx: number;
  /** Connection and response errors toward the target (delta of `econ` + `eresp`). */
  proxiedConnectionErrors: number;
  /** HAProxy's average response time of the target (ms, last 1024 requests). */
  proxiedAvgResponseMs: number;
  /** Direct probes of the target (bypassing HAProxy): latency, or undefined when it failed. */
  probes: Array<{ ok: boolean; latencyMs: number }>;
}

export interface SliReading {
  requests: number;
  errorRate: number;
  availability: number;
  p95Ms: number;
}

export interface SliVerdict {
  pass: boolean;
  reading: SliReading;
  /** Each breached SLI, e.g. "error rate 7.50 % > 2 %". Empty when the step passes. */
  breaches: string[];
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

/** The step's sample from two `show stat` readings of the target server, plus probes. */
export function sampleFromStats(before: StatRow, after: StatRow, probes: StepSample["probes"]): StepSample {
  const delta = (key: "stot" | "hrsp_5xx" | "econ" | "eresp") => Math.max(0, after[key] - before[key]);
  return {
    proxiedRequests: delta("stot"),
    proxied5xx: delta("hrsp_5xx"),
    proxiedConnectionErrors: delta("econ") + delta("eresp"),
    proxiedAvgResponseMs: after.rtime,
    probes,
  };
}

/**
 * The SLI gate of one step. Pure. "No data" fails: a step with no request at all to the
 * target (neither proxied nor probed) cannot show the target is healthy.
 */
export function evaluateStep(sample: StepSample, t: SliThresholds): SliVerdict {
  const probeFailures = sample.probes.filter((p) => !p.ok).length;
  const requests = sample.proxiedRequests + sample.probes.length;
  const errors = sample.proxied5xx + probeFailures;
  const unavailable = sample.proxied5xx + sample.proxiedConnectionErrors + probeFailures;
  const latencies = sample.probes.filter((p) => p.ok).map((p) => p.latencyMs);
  const p95Probe = percentile(latencies, 95);
  const p95Ms = Math.max(Number.isNaN(p95Probe) ? 0 : p95Probe, sample.proxiedRequests > 0 ? sample.proxiedAvgResponseMs : 0);
  const reading: SliReading = {
    requests,
    errorRate: requests === 0 ? 1 : errors / requests,
    availability: requests === 0 ? 0 : Math.max(0, 1 - unavailable / requests),
    p95Ms,
  };
  const breaches: string[] = [];
  if (requests === 0) {
    breaches.push("no data: the target received no request during the step");
  } else {
    if (reading.errorRate > t.maxErrorRate) breaches.push(`error rate ${pct(reading.errorRate)} > ${pct(t.maxErrorRate)}`);
    if (reading.p95Ms > t.maxP95Ms) breaches.push(`p95 ${Math.round(reading.p95Ms)} ms > ${t.maxP95Ms} ms`);
    if (reading.availability < t.minAvailability) breaches.push(`availability ${pct(reading.availability)} < ${pct(t.minAvailability)}`);
    if (latencies.length === 0 && sample.proxiedRequests === 0) breaches.push("no data: no successful probe");
  }
  return { pass: breaches.length === 0, reading, breaches };
}

function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(2).replace(/\.?0+$/, "")} %`;
}
