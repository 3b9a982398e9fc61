import { z } from "zod";

/** `jenkins-ha:coordination` — where the coordination database lives (issue: coordination). */
export const coordinationSchema = z
  .object({
    /** `container` runs PostgreSQL as a container on `host`; `external` uses an existing server. */
    mode: z.enum(["container", "external"]).default("container"),
    host: z.string().optional(),
    port: z.number().int().default(5432),
    database: z.string().default("jenkins_coordination"),
  })
  .strict();

export type CoordinationConfig = z.infer<typeof coordinationSchema>;
