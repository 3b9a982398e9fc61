import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HostModel } from "../config/model";

/**
 * One docker Provider per host: every team's resources go through the provider of the
 * host it is placed on, which is how the platform grows past one VM.
 */
export function hostProviders(
  hosts: Record<string, HostModel>,
  opts?: pulumi.CustomResourceOptions,
): Record<string, docker.Provider> {
  return Object.fromEntries(
    Object.values(hosts).map((host) => [
      host.name,
      new docker.Provider(`docker-${host.name}`, { host: host.dockerHost }, opts),
    ]),
  );
}
