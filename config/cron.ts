/**
 * A small 5-field cron evaluator (minute hour day-of-month month day-of-week), enough for
 * backup schedules: `*`, numbers, `a-b`, lists and `/step`. Times are UTC: the scheduled
 * backup runs in a container whose clock is UTC, and a schedule that means the same on
 * every host is easier to reason about than one that follows each host's TZ.
 * Pure (no I/O) so the config validation and the scheduler share one reading of a string.
 */

interface FieldSpec {
  name: string;
  min: number;
  max: number;
}

const FIELDS: FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
];

export interface CronSchedule {
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number>;
  months: Set<number>;
  daysOfWeek: Set<number>;
  /** Cron's rule: when both day fields are restricted, a day matching either one runs. */
  domRestricted: boolean;
  dowRestricted: boolean;
}

function parseField(text: string, spec: FieldSpec): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`${spec.name} '${part}' is not a number, range, list or step`);
    const lo = m[1] === "*" ? spec.min : Number(m[2]);
    const hi = m[1] === "*" ? spec.max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? spec.max : lo;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (lo < spec.min || hi > spec.max || lo > hi) throw new Error(`${spec.name} '${part}' is outside ${spec.min}-${spec.max}`);
    if (step < 1) throw new Error(`${spec.name} '${part}' has a step below 1`);
    for (let v = lo; v <= hi; v += step) values.add(spec.name === "day of week" && v === 7 ? 0 : v);
  }
  return values;
}

/** Parses a 5-field cron string; throws an Error saying which field is wrong. */
export function parseCron(expr: string): CronSchedule {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`'${expr}' has ${parts.length} fields; a cron schedule has 5 (minute hour day-of-month month day-of-week), e.g. '0 2 * * *'`);
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = parts.map((p, i) => parseField(p, FIELDS[i]));
  return { minutes, hours, daysOfMonth, months, daysOfWeek, domRestricted: parts[2] !== "*", dowRestricted: parts[4] !== "*" };
}

/** The problem with a cron string, or undefined when it is valid (for config validation). */
export function cronProblem(expr: string): string | undefined {
  try {
    parseCron(expr);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  const dom = s.daysOfMonth.has(d.getUTCDate());
  const dow = s.daysOfWeek.has(d.getUTCDay());
  if (s.domRestricted && s.dowRestricted) return dom || dow;
  return dom && dow;
}

/** The first minute strictly after `after` (UTC) that the schedule fires at. */
export function nextCronTime(expr: string | CronSchedule, after: Date): Date {
  const s = typeof expr === "string" ? parseCron(expr) : expr;
  const t = new Date(after.getTime());
  t.setUTCSeconds(0, 0);
  t.setUTCMinutes(t.getUTCMinutes() + 1);
  // Minute steps would take up to ~500k iterations for a yearly schedule; stepping whole
  // days, then hours, then minutes keeps it to a few hundred. Bounded to 5 years so an
  // impossible date (e.g. 31 February) ends with an error instead of a loop.
  const limit = after.getTime() + 5 * 366 * 86_400_000;
  while (t.getTime() < limit) {
    if (!s.months.has(t.getUTCMonth() + 1) || !dayMatches(s, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!s.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!s.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    return t;
  }
  throw new Error(`cron schedule never fires within 5 years`);
}
