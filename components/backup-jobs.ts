import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { PlatformModel, TeamModel, homeVolumeName } from "../config/model";
import { PROJECT } from "../config/schema";
import { cliImage } from "./cli-image";

export interface BackupJobsArgs {
  model: PlatformModel;
  /** Docker provider per host name; each team's job runs on its team's host. */
  providers: Record<string, docker.Provider>;
  /** Project root: the CLI image is built from it (docker/cli.Dockerfile). */
  projectDir: string;
}

/** Paths inside the scheduled backup container. */
export const BACKUP_CONTAINER_PATHS = {
  home: "/jenkins-home",
  store: "/backups",
  textfile: "/textfile",
} as const;

/**
 * The config one team's backup container reads: only what its backups need (no key that
 * could hold a secret), and only its own team without the keys a switch writes
 * (`switchRecord`, `standbyRunning`). So a switch of one team changes that team's backup
 * container (it follows the active home) and nobody else's: the switch plan check refuses
 * any change outside the team.
 */
function stackFileFor(model: PlatformModel, team: TeamModel): string {
  const c = model.config;
  const { switchRecord: _record, standbyRunning: _standby, ...teamConfig } = team.config;
  const keys = { hosts: c.hosts, platform: c.platform, teams: { [team.name]: teamConfig }, backup: c.backup };
  return YAML.stringify({ config: Object.fromEntries(Object.entries(keys).map(([k, v]) => [`${PROJECT}:${k}`, v])) });
}

/**
 * Scheduled critical-data backups, per team:
 *
 * - the team's backup store as a docker volume: NFS (`backup.nfs`: local driver, type nfs,
 *   `:<export>/<team>`) or, with no NFS server configured, a bind of `<backup.nfsPath>/<team>`
 *   (that directory must exist on the host, writable by uid 1000);
 * - a long-lived container from the jenkins-ha CLI image running `jenkins-ha backup schedule`:
 *   on the cron (team override, else `backup.schedule`, UTC) it backs up the active colour's
 *   home, verifies the backup, prunes, and writes the backup-age metrics to the
 *   node-exporter textfile dir. Docker has no cron; a container (rather than a systemd
 *   timer installed with a command on the host) goes through the same docker provider as
 *   everything else — remote hosts included — runs the exact code the tests exercise, and
 *   is replaced by `pulumi up` when a switch changes the active colour.
 *
 * The container mounts the active home read-only and runs as uid 1000 (Jenkins' own uid, so
 * it can read the home, secrets included) with no network: a backup needs none.
 */
export class BackupJobs extends pulumi.ComponentResource {
  /** Docker volume name of each team's store. */
  readonly storeVolumes: Record<string, pulumi.Output<string>> = {};
  /** Name of each team's scheduled backup container. */
  readonly containers: Record<string, string> = {};
  /** Effective cron of each team. */
  readonly schedules: Record<string, string> = {};

  constructor(name: string, args: BackupJobsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jenkins-ha:backup:BackupJobs", name, {}, opts);
    const { model, providers } = args;
    const b = model.config.backup;
    const textfileDir = b.metricsTextfileDir ?? model.config.monitoring.textfileDir;

    const images: Record<string, pulumi.Input<string>> = {};
    const imageFor = (team: TeamModel): pulumi.Input<string> => {
      if (b.image) return b.image;
      const host = team.host.name;
      images[host] ??= cliImage(`${name}-cli-${host}`, { projectDir: args.projectDir, tag: "backup", provider: providers[host] }, { parent: this }).imageName;
      return images[host];
    };

    for (const team of model.teams) {
      const provider = providers[team.host.name];
      const active = team.activeEnvironment;
      const schedule = team.config.backup?.schedule ?? b.schedule;
      const driverOpts: Record<string, string> = b.nfs
        ? { type: "nfs", o: `addr=${b.nfs.server},rw,nfsvers=4`, device: `:${b.nfs.export.replace(/\/$/, "")}/${team.name}` }
        : { type: "none", o: "bind", device: `${b.nfsPath.replace(/\/$/, "")}/${team.name}` };
      const store = new docker.Volume(
        `${name}-${team.name}-store`,
        {
          name: `jenkins-ha-backup-${team.name}`,
          driver: "local",
          driverOpts,
          labels: [
            { label: "jenkins-ha.team", value: team.name },
            { label: "jenkins-ha.role", value: "backup-store" },
          ],
        },
        { parent: this, provider },
      );
      const containerName = `jenkins-ha-backup-${team.name}`;
      const metricsFile = `${BACKUP_CONTAINER_PATHS.textfile}/jenkins_ha_backup_${team.name}.prom`;
      new docker.Container(
        `${name}-${team.name}-schedule`,
        {
          name: containerName,
          image: imageFor(team),
          user: "1000:1000",
          networkMode: "none",
          restart: "unless-stopped",
          command: [
            "backup", "schedule",
            "--team", team.name,
            "--stack", model.stack,
            "--colour", active,
            "--home", BACKUP_CONTAINER_PATHS.home,
            "--store", BACKUP_CONTAINER_PATHS.store,
            "--cron", schedule,
            "--metrics-file", metricsFile,
          ],
          envs: ["TZ=UTC"],
          // The CLI reads teams and backup settings from Pulumi.<stack>.yaml in its project dir.
          uploads: [{ file: `/opt/jenkins-ha/Pulumi.${model.stack}.yaml`, content: stackFileFor(model, team) }],
          volumes: [
            { volumeName: homeVolumeName(team.name, active), containerPath: BACKUP_CONTAINER_PATHS.home, readOnly: true },
            { volumeName: store.name, containerPath: `${BACKUP_CONTAINER_PATHS.store}/${team.name}` },
            { hostPath: textfileDir, containerPath: BACKUP_CONTAINER_PATHS.textfile },
          ],
          labels: [
            { label: "jenkins-ha.managed-by", value: "pulumi" },
            { label: "jenkins-ha.role", value: "backup" },
            { label: "jenkins-ha.team", value: team.name },
          ],
        },
        { parent: this, provider },
      );
      this.storeVolumes[team.name] = store.name;
      this.containers[team.name] = containerName;
      this.schedules[team.name] = schedule;
    }
    this.registerOutputs({ storeVolumes: this.storeVolumes, containers: this.containers, schedules: this.schedules });
  }
}
