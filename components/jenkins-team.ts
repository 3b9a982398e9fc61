import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Colour, COLOURS } from "../config/schema";
import { SwitchRecord } from "../config/sections/switch";
import { ColourModel, TeamModel } from "../config/model";
import { ADMIN_PASSWORD_SECRET, JCASC_PATH, JCASC_SECRETS_DIR } from "../render/jcasc";
import { DOCKER_LOG_OPTS } from "../render/alloy";
import { ImageContext } from "./image-context";

/** Ports inside every Jenkins container; the host ports differ per team and colour. */
export const JENKINS_HTTP_PORT = 8080;
export const JENKINS_AGENT_PORT = 50000;
/** The uid/gid the official Jenkins image runs as; home volumes are owned by it. */
export const JENKINS_USER = "1000:1000";
export const JENKINS_HOME = "/var/jenkins_home";

export interface JenkinsTeamArgs {
  team: TeamModel;
  /** Provider of the Docker host the team is placed on. */
  provider: docker.Provider;
  /** Build context prepared by the caller (base + team inputs + generated JCasC). */
  imageContext: ImageContext;
  /** Colour active in the stack's last deployment; undefined when never deployed. */
  lastDeployedEnvironment?: pulumi.Input<Colour | undefined>;
}

/**
 * The component's own inputs, which the engine records and CrossGuard policies read
 * (`policy/switch.ts`): a colour change against the last deployment must carry the
 * switch record. Component inputs reach the engine unless PULUMI_NODEJS_SKIP_COMPONENT_INPUTS
 * is set; the policy fails closed when they are missing.
 */
export interface JenkinsTeamSwitchState {
  team: string;
  activeEnvironment: Colour;
  lastDeployedEnvironment?: pulumi.Input<Colour | undefined>;
  switchRecord?: SwitchRecord;
}

export interface ColourOutputs {
  container: docker.Container;
  homeVolume: docker.Volume;
  url: string;
  webPort: number;
  agentPort: number;
}

/**
 * A team's Jenkins controller as a blue and a green container: one image for both, each
 * colour with its own ports (green = blue + 100) and its own protected home volume.
 */
export class JenkinsTeam extends pulumi.ComponentResource {
  readonly imageName: pulumi.Output<string>;
  readonly colours: Record<Colour, ColourOutputs>;
  readonly activeEnvironment: Colour;
  readonly adminPassword: pulumi.Output<string>;

  constructor(name: string, args: JenkinsTeamArgs, opts?: pulumi.ComponentResourceOptions) {
    const switchState: JenkinsTeamSwitchState = {
      team: args.team.name,
      activeEnvironment: args.team.activeEnvironment,
      lastDeployedEnvironment: args.lastDeployedEnvironment,
      switchRecord: args.team.config.switchRecord,
    };
    super("jenkins-ha:jenkins:JenkinsTeam", name, switchState, opts);
    const { team, provider, imageContext } = args;
    const childOpts = { parent: this, provider };

    const password = new random.RandomPassword(`${name}-admin-password`, { length: 24, special: false }, { parent: this });
    this.adminPassword = pulumi.secret(password.result);

    const image = new docker.Image(
      `${name}-image`,
      {
        imageName: `jenkins-ha/${team.name}:${imageContext.contentHash.slice(0, 12)}`,
        build: { context: imageContext.dir, dockerfile: `${imageContext.dir}/Dockerfile`, platform: "linux/amd64" },
        skipPush: true,
      },
      childOpts,
    );
    this.imageName = image.imageName;

    const declareColour = (c: ColourModel): ColourOutputs => {
      const homeVolume = new docker.Volume(
        `${name}-${c.colour}-home`,
        { name: c.homeVolumeName, labels: [{ label: "jenkins-ha.team", value: team.name }, { label: "jenkins-ha.environment", value: c.colour }] },
        // A home volume holds the controller's state: never deleted or replaced by an update.
        { ...childOpts, protect: true, retainOnDelete: true },
      );
      const container = new docker.Container(
        `${name}-${c.colour}`,
        {
          name: c.containerName,
          image: image.imageName,
          user: JENKINS_USER,
          envs: [
            `JENKINS_ENVIRONMENT=${c.colour}`,
            `JENKINS_TEAM=${team.name}`,
            `JENKINS_DIRECT_URL=${c.url}`,
            `CASC_JENKINS_CONFIG=${JCASC_PATH}`,
          ],
          ports: [
            { internal: JENKINS_HTTP_PORT, external: c.webPort },
            { internal: JENKINS_AGENT_PORT, external: c.agentPort },
          ],
          volumes: [{ volumeName: homeVolume.name, containerPath: JENKINS_HOME }],
          // JCasC reads `${jenkins-admin-password}` from this file: no secret in an env var.
          uploads: [{ file: `${JCASC_SECRETS_DIR}/${ADMIN_PASSWORD_SECRET}`, content: this.adminPassword }],
          hosts: [{ host: "host.docker.internal", ip: "host-gateway" }],
          healthcheck: {
            tests: ["CMD-SHELL", `curl -fsS -o /dev/null http://localhost:${JENKINS_HTTP_PORT}/login || exit 1`],
            interval: "30s",
            timeout: "10s",
            retries: 3,
            startPeriod: "180s",
          },
          restart: "unless-stopped",
          // json-file logs carrying the jenkins-ha.* labels, which Alloy turns into Loki labels.
          logDriver: "json-file",
          logOpts: { ...DOCKER_LOG_OPTS },
          // Resource-optimised mode: the standby exists (ready for a switch) but is not running.
          start: c.running,
          mustRun: c.running,
          labels: [
            { label: "jenkins-ha.team", value: team.name },
            { label: "jenkins-ha.environment", value: c.colour },
            { label: "jenkins-ha.managed-by", value: "pulumi" },
          ],
        },
        childOpts,
      );
      return { container, homeVolume, url: c.url, webPort: c.webPort, agentPort: c.agentPort };
    };

    this.colours = { blue: declareColour(team.colours.blue), green: declareColour(team.colours.green) };
    this.activeEnvironment = team.activeEnvironment;

    this.registerOutputs({
      imageName: this.imageName,
      activeEnvironment: this.activeEnvironment,
      urls: Object.fromEntries(COLOURS.map((c) => [c, this.colours[c].url])),
    });
  }
}
