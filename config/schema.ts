import { z } from "zod";
import { backupSchema, teamBackupSchema } from "./sections/backup";
import { coordinationSchema } from "./sections/coordination";
import { healingSchema, teamHealingSchema } from "./sections/healing";
import { monitoringSchema } from "./sections/monitoring";
import { loggingSchema } from "./sections/logging";
import { switchRecordSchema, switchSchema } from "./sections/switch";

/** The Pulumi project name: stack config keys are `jenkins-ha:<key>`. */
export const PROJECT = "jenkins-ha";

export const COLOURS = ["blue", "green"] as const;
export type Colour = (typeof COLOURS)[number];

/** Green ports are always blue + this offset (web and agent). */
export const GREEN_PORT_OFFSET = 100;

export const TEAM_NAME_PATTERN = /^[a-z][a-z0-9-]{1,30}$/;

export const AGENT_KINDS = ["maven", "python", "nodejs", "dind"] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];

const port = z.number().int();

export const agentSchema = z
  .object({
    kind: z.enum(AGENT_KINDS),
    /** Agent image; defaults per kind (see render/jcasc.ts). */
    image: z.string().optional(),
    instanceCap: z.number().int().positive().default(4),
  })
  .strict();

export const teamSchema = z
  .object({
    activeEnvironment: z.enum(COLOURS),
    /** Host port of the blue controller's web UI; green is +100. */
    webPort: port,
    /** Host port of the blue controller's inbound-agent (TCP) listener; green is +100. */
    agentPort: port,
    /** Port HAProxy serves this team on; it follows the active colour. */
    publicPort: port,
    /** Name of an entry in `jenkins-ha:hosts`. */
    host: z.string(),
    /** Directory with Dockerfile, plugins.txt, seedJob.groovy. Default `jenkins/<team>`. */
    imageDir: z.string().optional(),
    agents: z
      .array(agentSchema)
      .default(AGENT_KINDS.map((kind) => ({ kind, instanceCap: 4 }))),
    /**
     * Keep the standby colour running even in resource-optimised mode. The switch
     * orchestrator sets this while it stages a switch and during the rollback window.
     */
    standbyRunning: z.boolean().default(false),
    /** Written by the switch orchestrator; the policy pack checks it. */
    switchRecord: switchRecordSchema.optional(),
    healing: teamHealingSchema.optional(),
    backup: teamBackupSchema.optional(),
  })
  .strict();

/** A Docker host: the engine URL, and the address HAProxy / Prometheus reach it on. */
export const hostSchema = z.union([
  z.string(),
  z
    .object({
      dockerHost: z.string(),
      /** Address other hosts use for ports published here; derived from the URL if absent. */
      address: z.string().optional(),
      /** Docker API URL the team's Jenkins docker cloud starts agents through (TLS). */
      agentDockerHost: z.string().optional(),
    })
    .strict(),
]);

export const haproxySchema = z
  .object({
    /** Name of the host that runs HAProxy. */
    host: z.string(),
    image: z.string().default("haproxy:2.8"),
    /** Address the team frontends bind to. */
    bindAddress: z.string().default("0.0.0.0"),
    statsPort: port.default(8405),
    /** Stats page and Prometheus exporter bind here; localhost unless you put auth in front. */
    statsBindAddress: z.string().default("127.0.0.1"),
    /** Host directory holding haproxy.cfg, the admin socket and the server-state file. */
    runtimeDir: z.string().default("/var/lib/jenkins-ha/haproxy"),
    maxconn: z.number().int().positive().default(4096),
    /** Seconds between health checks of the Jenkins servers. */
    checkIntervalSeconds: z.number().int().positive().default(5),
  })
  .strict();

export const platformSchema = z
  .object({
    haproxy: haproxySchema,
    /** Only the active colour runs; the standby is started for a switch. */
    resourceOptimised: z.boolean().default(true),
    /** Minutes the old colour stays warm after a switch. */
    rollbackWindowMinutes: z.number().int().nonnegative().default(60),
  })
  .strict();

/** Every `jenkins-ha:*` stack config key, and its schema. */
export const stackConfigSchema = z
  .object({
    hosts: z.record(z.string(), hostSchema),
    platform: platformSchema,
    teams: z.record(z.string(), teamSchema),
    coordination: coordinationSchema.default(coordinationSchema.parse({})),
    backup: backupSchema.default(backupSchema.parse({})),
    monitoring: monitoringSchema.default(monitoringSchema.parse({})),
    logging: loggingSchema.default(loggingSchema.parse({})),
    switch: switchSchema.default(switchSchema.parse({})),
    healing: healingSchema.default(healingSchema.parse({})),
  })
  .strict();

export type StackConfigInput = z.input<typeof stackConfigSchema>;
export type StackConfig = z.infer<typeof stackConfigSchema>;
export type TeamConfig = z.infer<typeof teamSchema>;
export type HostConfig = z.infer<typeof hostSchema>;
export type HaproxyConfig = z.infer<typeof haproxySchema>;
export type AgentConfig = z.infer<typeof agentSchema>;

/** The top-level config keys, as they appear in `Pulumi.<stack>.yaml` without the project prefix. */
export const CONFIG_KEYS = Object.keys(stackConfigSchema.shape) as (keyof StackConfig)[];
