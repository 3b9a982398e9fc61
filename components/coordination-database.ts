import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as postgresql from "@pulumi/postgresql";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { CoordinationConfig } from "../config/sections/coordination";
import { HostModel } from "../config/model";
import { DATABASE_ROLES, DatabaseRole, MIGRATIONS_DIR, migrationFiles } from "../automation/coordination/migrate";

/** Name of the container and of its data volume on the database host. */
export const COORDINATION_CONTAINER = "jenkins-ha-coordination-db";
export const COORDINATION_VOLUME = "jenkins-ha-coordination-data";
/** Where the superuser password file is uploaded; the postgres image reads `POSTGRES_PASSWORD_FILE`. */
export const POSTGRES_PASSWORD_FILE = "/run/secrets/postgres-password";

export interface CoordinationDatabaseArgs {
  config: CoordinationConfig;
  /** The host the container runs on (container mode). */
  host: HostModel;
  provider: docker.Provider;
  /** Project root: the migration step runs this checkout's `jenkins-ha db migrate`. */
  projectDir: string;
}

/** `postgres://user:password@address:port/database?sslmode=...`, as a secret. */
function connectionUrl(user: string, password: pulumi.Input<string>, address: string, port: number, database: string, sslMode: string): pulumi.Output<string> {
  return pulumi.secret(
    pulumi.interpolate`postgres://${encodeURIComponent(user)}:${pulumi.output(password).apply(encodeURIComponent)}@${address}:${port}/${database}?sslmode=${sslMode}`,
  );
}

/** Changes when any migration or the grants change: the migration step re-runs then, and only then. */
export function migrationsFingerprint(dir = MIGRATIONS_DIR): string {
  const hash = crypto.createHash("sha256");
  for (const { file } of migrationFiles(dir)) hash.update(path.basename(file)).update(fs.readFileSync(file));
  hash.update(fs.readFileSync(path.join(dir, "..", "grants.sql")));
  return hash.digest("hex");
}

/**
 * The coordination database: the single source of truth for locks, switch budgets and the
 * audit trail. Either a PostgreSQL container on a platform host (its data volume
 * protected) or an existing server (`coordination.mode: external`); then, through
 * `@pulumi/postgresql`, the database, the least-privilege roles `orchestrator`, `healer`
 * and `reader` with generated passwords, and the schema migrations (`jenkins-ha db
 * migrate`, versioned SQL files, idempotent: re-running changes nothing).
 */
export class CoordinationDatabase extends pulumi.ComponentResource {
  /** Address and port clients use. */
  readonly address: string;
  readonly port: number;
  readonly database: string;
  /** Connection URL per role (secrets): what the orchestrator, healer and dashboards use. */
  readonly roleUrls: Record<DatabaseRole, pulumi.Output<string>>;

  constructor(name: string, args: CoordinationDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jenkins-ha:coordination:CoordinationDatabase", name, {}, opts);
    const { config, host, provider, projectDir } = args;
    const external = config.mode === "external" ? config.external : undefined;
    if (config.mode === "external" && !external) {
      // Validation reports this first; kept so the component is safe on its own.
      throw new Error("coordination.external is required when coordination.mode is 'external'");
    }

    let adminUser: string;
    let adminPassword: pulumi.Output<string>;
    let sslMode: string;
    const dependsOn: pulumi.Resource[] = [];
    if (external) {
      this.address = external.address;
      this.port = external.port;
      adminUser = external.adminUser;
      adminPassword = pulumi.secret(external.adminPassword);
      sslMode = external.sslMode;
    } else {
      this.address = config.bindAddress === "0.0.0.0" ? host.address : config.bindAddress;
      this.port = config.port;
      adminUser = "postgres";
      sslMode = "disable";
      const superuserPassword = new random.RandomPassword(`${name}-superuser-password`, { length: 32, special: false }, { parent: this });
      adminPassword = pulumi.secret(superuserPassword.result);
      const childOpts = { parent: this, provider };
      const image = new docker.RemoteImage(`${name}-image`, { name: config.image, keepLocally: true }, childOpts);
      const volume = new docker.Volume(
        `${name}-data`,
        { name: COORDINATION_VOLUME, labels: [{ label: "jenkins-ha.role", value: "coordination-db" }] },
        // The locks, budgets and the audit trail: never deleted or replaced by an update.
        { ...childOpts, protect: true, retainOnDelete: true },
      );
      const container = new docker.Container(
        `${name}-server`,
        {
          name: COORDINATION_CONTAINER,
          image: image.imageId,
          envs: [`POSTGRES_PASSWORD_FILE=${POSTGRES_PASSWORD_FILE}`, "PGDATA=/var/lib/postgresql/data/pgdata"],
          uploads: [{ file: POSTGRES_PASSWORD_FILE, content: adminPassword }],
          ports: [{ internal: 5432, external: config.port, ip: config.bindAddress }],
          volumes: [{ volumeName: volume.name, containerPath: "/var/lib/postgresql/data" }],
          healthcheck: { tests: ["CMD-SHELL", "pg_isready -U postgres -h 127.0.0.1 || exit 1"], interval: "10s", timeout: "5s", retries: 5, startPeriod: "30s" },
          restart: "unless-stopped",
          // The postgresql provider connects right after: wait until the server accepts.
          wait: true,
          waitTimeout: 120,
          labels: [
            { label: "jenkins-ha.role", value: "coordination-db" },
            { label: "jenkins-ha.managed-by", value: "pulumi" },
          ],
        },
        childOpts,
      );
      dependsOn.push(container);
    }
    this.database = config.database;

    const pg = new postgresql.Provider(
      `${name}-postgresql`,
      { host: this.address, port: this.port, username: adminUser, password: adminPassword, sslmode: sslMode, superuser: !external, database: "postgres" },
      { parent: this, dependsOn },
    );
    const pgOpts = { parent: this, provider: pg };
    const db = new postgresql.Database(`${name}-database`, { name: config.database, owner: adminUser }, { ...pgOpts, protect: true });

    const roleUrls = {} as Record<DatabaseRole, pulumi.Output<string>>;
    const roles: postgresql.Role[] = [];
    for (const role of DATABASE_ROLES) {
      const password = new random.RandomPassword(`${name}-${role}-password`, { length: 32, special: false }, { parent: this });
      const dbRole = new postgresql.Role(
        `${name}-${role}`,
        { name: role, login: true, password: password.result, createDatabase: false, createRole: false, superuser: false, inherit: true },
        pgOpts,
      );
      new postgresql.Grant(
        `${name}-${role}-connect`,
        { database: db.name, role: dbRole.name, objectType: "database", privileges: ["CONNECT"] },
        pgOpts,
      );
      roles.push(dbRole);
      roleUrls[role] = connectionUrl(role, password.result, this.address, this.port, config.database, sslMode);
    }
    this.roleUrls = roleUrls;

    // Table grants live in grants.sql beside the migrations (tables exist only after them),
    // applied by the same idempotent step.
    new command.local.Command(
      `${name}-migrate`,
      {
        create: "node bin/jenkins-ha.js db migrate",
        dir: projectDir,
        environment: { JENKINS_HA_DATABASE_URL: connectionUrl(adminUser, adminPassword, this.address, this.port, config.database, sslMode) },
        triggers: [migrationsFingerprint()],
      },
      { parent: this, dependsOn: [db, ...roles] },
    );

    this.registerOutputs({ address: this.address, port: this.port, database: this.database, roleUrls: this.roleUrls });
  }
}
