import YAML from "yaml";
import { RegisteredResource } from "../../automation/offline/runtime";
import { RenderResult } from "../../automation/offline/render";
import { loadPlatformModel } from "../../config/load";
import { clone, stackConfig } from "../support/stacks";
import { ofType, renderConfig, resource } from "../support/offline";

const COMPONENT = "jenkins-ha:backup:BackupJobs";
const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const IMAGE = "docker:index/image:Image";

interface VolumeInputs {
  name: string;
  driver: string;
  driverOpts: Record<string, string>;
}
interface ContainerInputs {
  name: string;
  image: string;
  user: string;
  networkMode: string;
  restart: string;
  command: string[];
  envs: string[];
  privileged?: boolean;
  uploads: { file: string; content: string }[];
  volumes: { volumeName?: string; hostPath?: string; containerPath: string; readOnly?: boolean }[];
  labels: { label: string; value: string }[];
}

const inputs = <T>(r: RegisteredResource) => r.inputs as unknown as T;

/** The program under mocks: BackupJobs as the real program declares it. */
describe("BackupJobs (prod stack under mocks)", () => {
  let prod: RenderResult;
  let nfs: RenderResult;
  beforeAll(async () => {
    prod = await renderConfig("prod", stackConfig("prod"));
    const raw = clone(stackConfig("prod"));
    raw.backup = { nfs: { server: "nfs.example.internal", export: "/exports/jenkins/" }, schedule: "30 1 * * *", metricsTextfileDir: "/srv/textfile", mode: "full" };
    (raw.teams as Record<string, Record<string, unknown>>).ma.backup = { schedule: "15 3 * * 0" };
    nfs = await renderConfig("prod", raw);
  });

  it("is one component with every child parented to it", () => {
    const component = resource(prod.resources, COMPONENT, "backup");
    const children = prod.resources.filter((r) => r.parent === component.urn);
    expect(children.filter((r) => r.type === VOLUME).map((r) => r.name).sort()).toEqual(["backup-ba-store", "backup-devops-store", "backup-ma-store", "backup-tw-store"]);
    expect(children.filter((r) => r.type === CONTAINER).map((r) => r.name).sort()).toEqual(["backup-ba-schedule", "backup-devops-schedule", "backup-ma-schedule", "backup-tw-schedule"]);
    // One CLI image per host (prod has one host).
    expect(children.filter((r) => r.type === IMAGE).map((r) => r.name)).toEqual(["backup-cli-vm1"]);
  });

  it("without an NFS server, binds each team's store to <nfsPath>/<team>", () => {
    const v = inputs<VolumeInputs>(resource(prod.resources, VOLUME, "backup-devops-store"));
    expect(v).toMatchObject({ name: "jenkins-ha-backup-devops", driver: "local", driverOpts: { type: "none", o: "bind", device: "/mnt/jenkins-backups/devops" } });
  });

  it("with backup.nfs, mounts <export>/<team> over NFSv4", () => {
    const v = inputs<VolumeInputs>(resource(nfs.resources, VOLUME, "backup-ma-store"));
    expect(v.driverOpts).toEqual({ type: "nfs", o: "addr=nfs.example.internal,rw,nfsvers=4", device: ":/exports/jenkins/ma" });
  });

  it("runs the CLI's backup schedule on the active colour's home, read-only, as uid 1000, without network", () => {
    // devops is active on green, ma on blue (Pulumi.prod.yaml).
    for (const [team, active] of [["devops", "green"], ["ma", "blue"]] as const) {
      const c = inputs<ContainerInputs>(resource(prod.resources, CONTAINER, `backup-${team}-schedule`));
      expect(c.command).toEqual([
        "backup", "schedule", "--team", team, "--stack", "prod", "--colour", active, "--home", "/jenkins-home", "--store", "/backups",
        "--cron", "0 2 * * *", "--metrics-file", `/textfile/jenkins_ha_backup_${team}.prom`,
      ]);
      expect(c.volumes).toEqual([
        { volumeName: `jenkins-${team}-${active}-home`, containerPath: "/jenkins-home", readOnly: true },
        { volumeName: `jenkins-ha-backup-${team}`, containerPath: `/backups/${team}` },
        { hostPath: "/var/lib/jenkins-ha/node-exporter", containerPath: "/textfile" },
      ]);
      expect(c).toMatchObject({ name: `jenkins-ha-backup-${team}`, user: "1000:1000", networkMode: "none", restart: "unless-stopped", image: "jenkins-ha/cli:backup" });
      expect(c.privileged).toBeFalsy();
      // Not a Jenkins controller for the policies: no environment label.
      expect(c.labels.map((l) => l.label).sort()).toEqual(["jenkins-ha.managed-by", "jenkins-ha.role", "jenkins-ha.team"]);
    }
  });

  it("gives the container a stack file its CLI validates, with only the keys backups need", () => {
    const c = inputs<ContainerInputs>(resource(prod.resources, CONTAINER, "backup-devops-schedule"));
    expect(c.uploads.map((u) => u.file)).toEqual(["/opt/jenkins-ha/Pulumi.prod.yaml"]);
    const doc = YAML.parse(c.uploads[0].content) as { config: Record<string, unknown> };
    expect(Object.keys(doc.config).sort()).toEqual(["jenkins-ha:backup", "jenkins-ha:hosts", "jenkins-ha:platform", "jenkins-ha:teams"]);
    const raw = Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k.replace(/^jenkins-ha:/, ""), v]));
    const model = loadPlatformModel("prod", raw);
    expect(model.teams.find((t) => t.name === "devops")?.activeEnvironment).toBe("green");
  });

  it("takes the cron per team (override, else backup.schedule) and the textfile dir from backup.metricsTextfileDir", () => {
    const cron = (team: string) => {
      const cmd = inputs<ContainerInputs>(resource(nfs.resources, CONTAINER, `backup-${team}-schedule`)).command;
      return cmd[cmd.indexOf("--cron") + 1];
    };
    expect(cron("ma")).toBe("15 3 * * 0");
    expect(cron("devops")).toBe("30 1 * * *");
    const c = inputs<ContainerInputs>(resource(nfs.resources, CONTAINER, "backup-devops-schedule"));
    expect(c.volumes[2]).toEqual({ hostPath: "/srv/textfile", containerPath: "/textfile" });
  });

  it("passes the policy-relevant checks: no Docker socket, no secret-looking env", () => {
    for (const r of ofType(prod.resources, CONTAINER).filter((r) => r.name.startsWith("backup-"))) {
      const c = inputs<ContainerInputs>(r);
      expect(c.volumes.some((v) => v.hostPath?.includes("docker.sock"))).toBe(false);
      expect(c.envs).toEqual(["TZ=UTC"]);
    }
  });
});

describe("backup config validation", () => {
  it("rejects a bad cron string with its path", () => {
    const raw = clone(stackConfig("prod"));
    raw.backup = { schedule: "0 25 * * *" };
    (raw.teams as Record<string, Record<string, unknown>>).tw.backup = { schedule: "daily" };
    expect(() => loadPlatformModel("prod", raw)).toThrow(/backup\.schedule: bad cron schedule: hour '25' is outside 0-23/);
    expect(() => loadPlatformModel("prod", raw)).toThrow(/teams\.tw\.backup\.schedule: bad cron schedule: 'daily' has 1 fields/);
  });

  it("defaults: critical mode, 02:00, 30 days, /mnt/jenkins-backups, the documented include/exclude lists", () => {
    const b = loadPlatformModel("prod", stackConfig("prod")).config.backup;
    expect(b).toMatchObject({ mode: "critical", schedule: "0 2 * * *", retentionDays: 30, nfsPath: "/mnt/jenkins-backups" });
    expect(b.include).toEqual(["*.xml", "jobs/**/config.xml", "users/**", "nodes/**", "secrets/**", "userContent/**", "casc_configs/**", "jenkins.yaml"]);
    expect(b.exclude).toContain("secrets/master.key");
  });
});
