import * as pulumi from "@pulumi/pulumi";
import { Colour, COLOURS } from "../config/schema";
import { PlatformModel } from "../config/model";
import { renderHaproxyInstallScript } from "../render/haproxy-reload";
import { renderJcasc } from "../render/jcasc";
import { renderLoggingFiles, renderMonitoringStackFiles } from "../render/monitoring";
import { MonitoringTargets, loggingHost, monitoringHost, monitoringTargets } from "../render/monitoring-targets";
import { CoordinationDatabase } from "./coordination-database";
import { Logging } from "./logging";
import { Monitoring } from "./monitoring";
import { prepareImageContext } from "./image-context";
import { JenkinsTeam } from "./jenkins-team";
import { LoadBalancer } from "./load-balancer";
import { BackupJobs } from "./backup-jobs"; // backups (issue 4)
import { Healer, healingEnabled } from "./healer"; // auto-healing (issue 8)
import { hostProviders } from "./providers";

export interface DeclarePlatformOptions {
  /** Project root (where jenkins/ lives). */
  projectDir: string;
  /** Where image build contexts are written; default `<projectDir>/.jenkins-ha/build/<stack>`. */
  buildDir?: string;
  /**
   * Colour of each team in the last deployment (from the stack's own previous outputs);
   * carried on each JenkinsTeam so the switch-record policy can tell a switch.
   */
  lastDeployedEnvironments?: pulumi.Input<Record<string, Colour>>;
}

export interface TeamOutputs {
  activeEnvironment: Colour;
  standbyEnvironment: Colour;
  publicUrl: string;
  image: pulumi.Output<string>;
  urls: Record<Colour, string>;
  ports: Record<Colour, { web: number; agent: number }>;
  running: Record<Colour, boolean>;
  host: string;
  haproxyBackend: string;
  switchRecordId: string | null;
}

export interface Platform {
  /** What `index.ts` exports as stack outputs. */
  outputs: {
    teams: Record<string, TeamOutputs>;
    haproxy: {
      statsUrl: string;
      metricsUrl: string;
      adminSocket: string;
      frontends: Record<string, string>;
      statsPassword: pulumi.Output<string>;
    };
    jenkinsAdminPasswords: pulumi.Output<Record<string, string>>;
    /** Scrape targets with their labels; Prometheus' file_sd files are rendered from it. */
    monitoringTargets: MonitoringTargets;
    /** Where the coordination database is; the role URLs are secrets. */
    coordination: {
      address: string;
      port: number;
      database: string;
      urls: pulumi.Output<Record<string, string>>;
    };
    monitoring: {
      prometheusUrl?: string;
      alertmanagerUrl?: string;
      grafanaUrl?: string;
      grafanaAdminPassword?: pulumi.Output<string>;
      lokiUrl?: string;
    };
  };
  /** Every generated file, by path relative to the render output dir (for offline review). */
  files: Record<string, pulumi.Input<string>>;
}

/** Declares every resource of a validated platform model. */
export function declarePlatform(model: PlatformModel, options: DeclarePlatformOptions): Platform {
  const providers = hostProviders(model.hosts);
  const files: Record<string, pulumi.Input<string>> = {};
  const teams: Record<string, TeamOutputs> = {};
  const adminPasswords: Record<string, pulumi.Output<string>> = {};

  for (const team of model.teams) {
    const context = prepareImageContext({
      projectDir: options.projectDir,
      stack: model.stack,
      team: team.name,
      imageDir: team.imageDir,
      generated: { "jenkins.yaml": renderJcasc(team, team.host.agentDockerHost) },
      outDir: options.buildDir ? `${options.buildDir}/${team.name}` : undefined,
    });
    for (const [file, content] of Object.entries(context.files)) files[`jenkins/${team.name}/${file}`] = content;

    const lastDeployedEnvironment = options.lastDeployedEnvironments
      ? pulumi.output(options.lastDeployedEnvironments).apply((colours) => colours[team.name])
      : undefined;
    const jenkins = new JenkinsTeam(`jenkins-${team.name}`, {
      team,
      provider: providers[team.host.name],
      imageContext: context,
      lastDeployedEnvironment,
    });
    adminPasswords[team.name] = jenkins.adminPassword;
    teams[team.name] = {
      activeEnvironment: team.activeEnvironment,
      standbyEnvironment: team.standbyEnvironment,
      publicUrl: team.publicUrl,
      image: jenkins.imageName,
      urls: { blue: team.colours.blue.url, green: team.colours.green.url },
      ports: Object.fromEntries(
        COLOURS.map((c) => [c, { web: team.colours[c].webPort, agent: team.colours[c].agentPort }]),
      ) as Record<Colour, { web: number; agent: number }>,
      running: { blue: team.colours.blue.running, green: team.colours.green.running },
      host: team.host.name,
      haproxyBackend: team.backendName,
      switchRecordId: team.config.switchRecord?.id ?? null,
    };
  }

  const lb = new LoadBalancer("haproxy", { model, provider: providers[model.haproxyHost.name] });
  files["haproxy/haproxy.cfg"] = lb.configText;
  files["haproxy/install-config.sh"] = renderHaproxyInstallScript();

  const coordinationConfig = model.config.coordination;
  const coordinationHost = model.hosts[coordinationConfig.host ?? model.haproxyHost.name];
  const coordination = new CoordinationDatabase("coordination", {
    config: coordinationConfig,
    host: coordinationHost,
    provider: providers[coordinationHost.name],
    projectDir: options.projectDir,
  });

  const monitoringOutputs: Platform["outputs"]["monitoring"] = {};
  const monitoringFiles = renderMonitoringStackFiles(model);
  Object.assign(files, monitoringFiles);
  if (model.config.monitoring.enabled) {
    const monitoring = new Monitoring("monitoring", {
      model,
      files: monitoringFiles,
      host: monitoringHost(model),
      providers,
      haproxyStatsPassword: lb.statsPassword,
    });
    Object.assign(monitoringOutputs, {
      prometheusUrl: monitoring.prometheusUrl,
      alertmanagerUrl: monitoring.alertmanagerUrl,
      grafanaUrl: monitoring.grafanaUrl,
      grafanaAdminPassword: monitoring.grafanaAdminPassword,
    });
  }
  // Logging is independent: switching it off leaves every monitoring resource untouched.
  const loggingFiles = renderLoggingFiles(model);
  Object.assign(files, loggingFiles);
  if (model.config.logging.enabled) {
    const logging = new Logging("logging", { model, files: loggingFiles, host: loggingHost(model), providers });
    monitoringOutputs.lokiUrl = logging.lokiUrl;
  }

  // --- backups (issue 4): per-team backup store volume + scheduled backup/verify container ---
  new BackupJobs("backup", { model, providers, projectDir: options.projectDir });
  // --- end backups ---

  // --- auto-healing (issue 8): the healer container, when any team is watched ---
  if (healingEnabled(model)) {
    new Healer("healer", { model, providers, projectDir: options.projectDir, databaseUrl: coordination.roleUrls.healer });
  }
  // --- end auto-healing ---

  return {
    outputs: {
      teams,
      haproxy: {
        statsUrl: lb.statsUrl,
        metricsUrl: lb.metricsUrl,
        adminSocket: lb.adminSocket,
        frontends: lb.frontends,
        statsPassword: lb.statsPassword,
      },
      jenkinsAdminPasswords: pulumi.secret(pulumi.all(adminPasswords)),
      monitoringTargets: monitoringTargets(model),
      coordination: {
        address: coordination.address,
        port: coordination.port,
        database: coordination.database,
        urls: pulumi.secret(pulumi.all(coordination.roleUrls)),
      },
      monitoring: monitoringOutputs,
    },
    files,
  };
}
