import pino from "pino";

export type HealLog = (event: Record<string, unknown>) => void;

const LEVELS = new Set(["trace", "debug", "info", "warn", "error", "fatal"]);

/**
 * Structured JSON logs on stdout (one object per line, `service=jenkins-ha-healer`): the
 * container's output goes to Loki through Alloy's Docker discovery, where `team`,
 * `action` and `level` become queryable fields. Events carry their own `level` and `msg`.
 */
export function healLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): HealLog {
  const logger = pino({ base: { service: "jenkins-ha-healer" }, level: options.level ?? "info", timestamp: pino.stdTimeFunctions.isoTime }, options.destination);
  return (event) => {
    const { level, msg, ...rest } = event;
    const lvl = typeof level === "string" && LEVELS.has(level) ? (level as pino.Level) : "info";
    logger[lvl](rest, typeof msg === "string" ? msg : "");
  };
}
