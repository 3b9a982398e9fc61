import { z } from "zod";

/**
 * An existing PostgreSQL server (managed / HA) instead of the container: the path for
 * outgrowing one VM. The program creates the database, roles and grants on it.
 */
export const externalDatabaseSchema = z
  .object({
    address: z.string().min(1),
    port: z.number().int().default(5432),
    /** A role allowed to create databases and roles (e.g. the managed service's admin). */
    adminUser: z.string().min(1).default("postgres"),
    /** Set it with `pulumi config set --secret --path coordination.external.adminPassword ...`. */
    adminPassword: z.string().min(1),
    sslMode: z.enum(["disable", "require", "verify-ca", "verify-full"]).default("require"),
  })
  .strict();

/** `jenkins-ha:coordination` — where the coordination database lives (issue: coordination). */
export const coordinationSchema = z
  .object({
    /** `container` runs PostgreSQL as a container on `host`; `external` uses an existing server. */
    mode: z.enum(["container", "external"]).default("container"),
    /** Host of the PostgreSQL container; default: the HAProxy host. */
    host: z.string().optional(),
    /** Host port the container publishes PostgreSQL on. */
    port: z.number().int().default(5432),
    /** Address the container's port binds to; loopback unless other hosts need it. */
    bindAddress: z.string().default("127.0.0.1"),
    image: z.string().default("postgres:16"),
    database: z.string().regex(/^[a-z_][a-z0-9_]*$/).default("jenkins_coordination"),
    external: externalDatabaseSchema.optional(),
    /** Lease TTL used by locks taken outside a switch (backup runs, heal actions). */
    leaseTtlSeconds: z.number().int().positive().default(120),
  })
  .strict();

export type CoordinationConfig = z.infer<typeof coordinationSchema>;
export type ExternalDatabaseConfig = z.infer<typeof externalDatabaseSchema>;
