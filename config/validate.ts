import { z } from "zod";
import { closest } from "./suggest";
import { ConfigProblem, joinPath } from "./problems";
import {
  COLOURS,
  GREEN_PORT_OFFSET,
  StackConfig,
  TEAM_NAME_PATTERN,
  stackConfigSchema,
} from "./schema";

const MAX_PORT = 65535;
const MIN_PORT = 1024;

export type ValidationResult =
  | { ok: true; config: StackConfig }
  | { ok: false; problems: ConfigProblem[] };

/**
 * Validates raw stack config (the `jenkins-ha:*` keys, already JSON-parsed) and reports
 * every problem at once: schema problems from zod, then the cross-field rules (team names,
 * port ranges and collisions across both colours, unknown hosts). Pure: reads nothing.
 */
export function validateStackConfig(raw: unknown): ValidationResult {
  const problems: ConfigProblem[] = [];
  const parsed = stackConfigSchema.safeParse(raw);
  if (!parsed.success) problems.push(...parsed.error.issues.flatMap((issue) => issueToProblems(issue, raw)));
  problems.push(...crossFieldProblems(raw));
  const unique = dedupe(problems);
  if (unique.length > 0 || !parsed.success) return { ok: false, problems: unique };
  return { ok: true, config: parsed.data };
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---------------------------------------------------------------------------------------
// zod issues -> problems with a fix

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let value = raw;
  for (const part of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

function issueToProblems(issue: z.core.$ZodIssue, raw: unknown): ConfigProblem[] {
  const path = joinPath(issue.path);
  const basePath = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
  if ((issue.code === "invalid_type" || issue.code === "invalid_value") && valueAt(raw, basePath) === undefined) {
    const expected = issue.code === "invalid_value" ? `one of: ${issue.values.map(String).join(", ")}` : issue.expected;
    return [{ path, message: "is required", fix: `set it (${expected})` }];
  }
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        const known = knownKeysAt(basePath);
        const hint = closest(key, known);
        return {
          path: joinPath([...basePath, key]),
          message: "unknown key",
          fix: hint
            ? `did you mean '${hint}'? Known keys here: ${known.join(", ")}`
            : `remove it; known keys here: ${known.join(", ")}`,
        };
      });
    case "invalid_type":
      return [{ path, message: `must be ${article(issue.expected)}`, fix: `set a ${issue.expected} value` }];
    case "invalid_value": {
      const values = issue.values.map((v) => String(v));
      const isColour = values.length === 2 && COLOURS.every((c) => values.includes(c));
      return [
        {
          path,
          message: isColour ? "unknown colour" : "unknown value",
          fix: `use one of: ${values.join(", ")}`,
        },
      ];
    }
    case "too_small":
      return [{ path, message: `is below the minimum ${String(issue.minimum)}`, fix: `use a value >= ${String(issue.minimum)}` }];
    case "too_big":
      return [{ path, message: `is above the maximum ${String(issue.maximum)}`, fix: `use a value <= ${String(issue.maximum)}` }];
    case "invalid_union":
      return [{ path, message: "has the wrong shape", fix: unionFix(basePath) }];
    default:
      return [{ path, message: issue.message, fix: "correct the value (see README, config reference)" }];
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function unionFix(path: PropertyKey[]): string {
  if (path[0] === "hosts") {
    return "use a Docker host URL string (unix:///var/run/docker.sock, ssh://user@vm, tcp://vm:2376) or { dockerHost, address }";
  }
  return "see README, config reference";
}

/** Walks the schema along a path to list the keys an object there accepts. */
function knownKeysAt(path: PropertyKey[]): string[] {
  let schema: z.core.$ZodType | undefined = stackConfigSchema;
  for (const part of path) {
    schema = unwrap(schema);
    if (!schema) return [];
    const def = schema._zod.def;
    if (def.type === "object") schema = (def as z.core.$ZodObjectDef).shape[String(part)];
    else if (def.type === "record") schema = (def as z.core.$ZodRecordDef).valueType;
    else if (def.type === "array") schema = (def as z.core.$ZodArrayDef).element;
    else if (def.type === "union") {
      schema = (def as z.core.$ZodUnionDef).options.find((o) => unwrap(o)?._zod.def.type === "object");
    } else return [];
  }
  schema = unwrap(schema);
  if (schema?._zod.def.type === "union") {
    schema = (schema._zod.def as z.core.$ZodUnionDef).options.find((o) => unwrap(o)?._zod.def.type === "object");
    schema = unwrap(schema);
  }
  if (schema?._zod.def.type !== "object") return [];
  return Object.keys((schema._zod.def as z.core.$ZodObjectDef).shape);
}

function unwrap(schema: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  let s = schema;
  while (s && (s._zod.def.type === "optional" || s._zod.def.type === "default" || s._zod.def.type === "nullable")) {
    s = (s._zod.def as z.core.$ZodOptionalDef).innerType;
  }
  return s;
}

// ---------------------------------------------------------------------------------------
// cross-field rules, run on the raw input so that they report even when zod also fails

type Raw = Record<string, unknown>;

function isRecord(v: unknown): v is Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

interface PortUse {
  port: number;
  path: string;
  what: string;
}

function crossFieldProblems(raw: unknown): ConfigProblem[] {
  if (!isRecord(raw)) {
    return [{ path: "(root)", message: "stack config is not an object", fix: "check Pulumi.<stack>.yaml" }];
  }
  const problems: ConfigProblem[] = [];
  const hosts = isRecord(raw.hosts) ? raw.hosts : {};
  const hostNames = Object.keys(hosts);
  const teams = isRecord(raw.teams) ? raw.teams : {};
  const platform = isRecord(raw.platform) ? raw.platform : {};
  const haproxy = isRecord(platform.haproxy) ? platform.haproxy : {};

  if (raw.teams !== undefined && Object.keys(teams).length === 0) {
    problems.push({ path: "teams", message: "no teams are defined", fix: "add at least one team under jenkins-ha:teams" });
  }

  for (const [name, url] of Object.entries(hosts)) {
    const dockerHost = typeof url === "string" ? url : isRecord(url) ? url.dockerHost : undefined;
    if (typeof dockerHost === "string" && !/^(unix|ssh|tcp):\/\/./.test(dockerHost)) {
      problems.push({
        path: typeof url === "string" ? `hosts.${name}` : `hosts.${name}.dockerHost`,
        message: `'${dockerHost}' is not a Docker host URL`,
        fix: "use unix:///var/run/docker.sock, ssh://user@vm or tcp://vm:2376",
      });
    }
  }

  const checkHostRef = (path: string, value: unknown) => {
    if (typeof value !== "string" || hostNames.includes(value)) return;
    const hint = closest(value, hostNames);
    problems.push({
      path,
      message: `unknown host '${value}'`,
      fix: hint
        ? `did you mean '${hint}'? Hosts: ${hostNames.join(", ")}`
        : `add it under jenkins-ha:hosts or use one of: ${hostNames.join(", ") || "(none defined)"}`,
    });
  };
  checkHostRef("platform.haproxy.host", haproxy.host);
  for (const section of ["coordination", "monitoring", "logging", "healing"]) {
    const block = raw[section];
    if (isRecord(block)) checkHostRef(`${section}.host`, block.host);
  }

  // Prometheus scrapes HAProxy's exporter; on loopback that only works from the same host.
  const monitoring = isRecord(raw.monitoring) ? raw.monitoring : {};
  const statsBind = typeof haproxy.statsBindAddress === "string" ? haproxy.statsBindAddress : "127.0.0.1";
  if (
    typeof monitoring.host === "string" &&
    typeof haproxy.host === "string" &&
    monitoring.host !== haproxy.host &&
    monitoring.enabled !== false &&
    ["127.0.0.1", "::1", "localhost"].includes(statsBind)
  ) {
    problems.push({
      path: "monitoring.host",
      message: `Prometheus on '${monitoring.host}' cannot reach HAProxy's exporter, bound to ${statsBind} on '${haproxy.host}'`,
      fix: `run monitoring on '${haproxy.host}', or set platform.haproxy.statsBindAddress to an address '${monitoring.host}' can reach (the exporter then requires the stats password)`,
    });
  }

  const uses: PortUse[] = [];
  const checkPort = (path: string, value: unknown, what: string, max = MAX_PORT, fix?: string) => {
    if (typeof value !== "number" || !Number.isInteger(value)) return;
    if (value < MIN_PORT || value > max) {
      problems.push({
        path,
        message: `${value} is out of range`,
        fix: fix ?? `use a port between ${MIN_PORT} and ${max}`,
      });
      return;
    }
    uses.push({ port: value, path, what });
  };

  for (const [team, rawTeam] of Object.entries(teams)) {
    if (!TEAM_NAME_PATTERN.test(team)) {
      problems.push({
        path: `teams.${team}`,
        message: `'${team}' is not a valid team name`,
        fix: "use 2-31 characters: a lowercase letter, then lowercase letters, digits or '-' (^[a-z][a-z0-9-]{1,30}$)",
      });
    }
    if (!isRecord(rawTeam)) continue;
    checkHostRef(`teams.${team}.host`, rawTeam.host);
    const greenFix = `use a port between ${MIN_PORT} and ${MAX_PORT - GREEN_PORT_OFFSET}, so that green (+${GREEN_PORT_OFFSET}) is a valid port too`;
    for (const key of ["webPort", "agentPort"] as const) {
      const value = rawTeam[key];
      checkPort(`teams.${team}.${key}`, value, `${team} blue ${key}`, MAX_PORT - GREEN_PORT_OFFSET, greenFix);
      if (typeof value === "number" && value >= MIN_PORT && value <= MAX_PORT - GREEN_PORT_OFFSET) {
        uses.push({
          port: value + GREEN_PORT_OFFSET,
          path: `teams.${team}.${key}`,
          what: `${team} green ${key} (${key} + ${GREEN_PORT_OFFSET})`,
        });
      }
    }
    checkPort(`teams.${team}.publicPort`, rawTeam.publicPort, `${team} HAProxy frontend (publicPort)`);
  }
  checkPort("platform.haproxy.statsPort", haproxy.statsPort ?? 8405, "HAProxy stats (platform.haproxy.statsPort)");
  const coordination = isRecord(raw.coordination) ? raw.coordination : {};
  if (coordination.mode === "external") {
    if (!isRecord(coordination.external)) {
      problems.push({
        path: "coordination.external",
        message: "mode 'external' needs the server to use",
        fix: "set coordination.external.address and adminPassword (pulumi config set --secret --path coordination.external.adminPassword ...), or use mode 'container'",
      });
    }
  } else {
    checkPort("coordination.port", coordination.port ?? 5432, "coordination database (coordination.port)");
  }

  const byPort = new Map<number, PortUse[]>();
  for (const use of uses) byPort.set(use.port, [...(byPort.get(use.port) ?? []), use]);
  // One mistake (team B's blue = team A's blue) also makes the greens collide; report the
  // pair of settings once.
  const reportedPairs = new Set<string>();
  for (const [port, clash] of byPort) {
    if (clash.length < 2) continue;
    const [first, ...rest] = clash;
    for (const other of rest) {
      const pair = `${other.path}\u0000${first.path}`;
      if (reportedPairs.has(pair)) continue;
      reportedPairs.add(pair);
      problems.push({
        path: other.path,
        message: `port ${port} (${other.what}) collides with ${first.what} at ${first.path}`,
        fix: `pick a port used by nothing else, on either colour (green = blue + ${GREEN_PORT_OFFSET})`,
      });
    }
  }
  return problems;
}
