import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/**
 * The jenkins-ha CLI image (`docker/cli.Dockerfile`), built on a host from this
 * repository. The healer and the backup jobs run it, so what runs on the hosts is the same
 * code as what the tests exercise.
 */
export function cliImage(name: string, args: { projectDir: string; tag: string; provider: docker.Provider }, opts?: pulumi.CustomResourceOptions): docker.Image {
  return new docker.Image(
    name,
    {
      imageName: `jenkins-ha/cli:${args.tag}`,
      build: { context: args.projectDir, dockerfile: `${args.projectDir}/docker/cli.Dockerfile`, platform: "linux/amd64" },
      skipPush: true,
    },
    { ...opts, provider: args.provider },
  );
}
