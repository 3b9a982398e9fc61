import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RenderResult } from "../../automation/offline/render";
import { RegisteredResource, runOffline } from "../../automation/offline/runtime";
import { imageDirProblem } from "../../components/image-context";
import { toPulumiConfigMap } from "../../config/load";
import { ConfigValidationError } from "../../config/problems";
import { PROJECT } from "../../config/schema";
import { program } from "../../program";
import { PROJECT_DIR, clone, generatedConfig, stackConfig } from "../support/stacks";
import { ofType, renderConfig, resource } from "../support/offline";

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const IMAGE = "docker:index/image:Image";
const PROVIDER = "pulumi:providers:docker";

type Inputs = Record<string, any>; // provider inputs are untyped JSON

describe("the program under mocks (prod stack)", () => {
  let prod: RenderResult;
  beforeAll(async () => {
    prod = await renderConfig("prod", stackConfig("prod"));
  });

  it("declares each team as a JenkinsTeam component with children parented to it", () => {
    const components = ofType(prod.resources, "jenkins-ha:jenkins:JenkinsTeam").map((r) => r.name).sort();
    expect(components).toEqual(["jenkins-ba", "jenkins-devops", "jenkins-ma", "jenkins-tw"]);
    const team = resource(prod.resources, "jenkins-ha:jenkins:JenkinsTeam", "jenkins-devops");
    for (const child of ["jenkins-devops-blue", "jenkins-devops-green"]) {
      expect(resource(prod.resources, CONTAINER, child).parent).toBe(team.urn);
    }
    expect(resource(prod.resources, VOLUME, "jenkins-devops-blue-home").parent).toBe(team.urn);
  });

  it("gives both colours the same image, ports +100 and their own home volume", () => {
    const blue = resource(prod.resources, CONTAINER, "jenkins-devops-blue").inputs as Inputs;
    const green = resource(prod.resources, CONTAINER, "jenkins-devops-green").inputs as Inputs;
    expect(blue.image).toBe(green.image);
    expect(blue.image).toMatch(/^jenkins-ha\/devops:[0-9a-f]{12}$/);
    expect(blue.ports).toEqual([{ internal: 8080, external: 8080, ip: "0.0.0.0", protocol: "tcp" }, { internal: 50000, external: 50000, ip: "0.0.0.0", protocol: "tcp" }].map((p) => expect.objectContaining({ internal: p.internal, external: p.external })));
    expect(green.ports).toEqual([expect.objectContaining({ internal: 8080, external: 8180 }), expect.objectContaining({ internal: 50000, external: 50100 })]);
    expect(blue.volumes).toEqual([expect.objectContaining({ volumeName: "jenkins-devops-blue-home", containerPath: "/var/jenkins_home" })]);
    expect(green.volumes).toEqual([expect.objectContaining({ volumeName: "jenkins-devops-green-home", containerPath: "/var/jenkins_home" })]);
    const withoutColour = (envs: string[]) => envs.filter((e) => !/^JENKINS_(ENVIRONMENT|DIRECT_URL)=/.test(e));
    expect(withoutColour(blue.envs)).toEqual(withoutColour(green.envs));
    expect(blue.envs).toContain("JENKINS_ENVIRONMENT=blue");
    expect(green.envs).toContain("JENKINS_ENVIRONMENT=green");
    expect(green.envs).toContain("CASC_JENKINS_CONFIG=/usr/share/jenkins/casc/jenkins.yaml");
  });

  it("gives every Jenkins container a /login health check, a restart policy and uid 1000", () => {
    const containers = ofType(prod.resources, CONTAINER).filter((r) => r.name.startsWith("jenkins-"));
    expect(containers).toHaveLength(8);
    for (const c of containers) {
      const inputs = c.inputs as Inputs;
      expect(inputs.healthcheck.tests.join(" ")).toContain("http://localhost:8080/login");
      expect(inputs.restart).toBe("unless-stopped");
      expect(inputs.user).toBe("1000:1000");
      expect(inputs.privileged).toBeFalsy();
      expect(JSON.stringify(inputs.envs)).not.toMatch(/PASSWORD|TOKEN|SECRET/);
    }
  });

  it("delivers the admin password as a secret file, never as an env var", () => {
    const c = resource(prod.resources, CONTAINER, "jenkins-ma-blue");
    expect(c.secretInputs).toContain("uploads");
    expect(c.redactedInputs.uploads).toEqual([{ file: "/run/secrets/jenkins-admin-password", content: "[secret]" }]);
  });

  it("runs only the active colour in resource-optimised mode", () => {
    const start = (name: string) => (resource(prod.resources, CONTAINER, name).inputs as Inputs).start;
    expect([start("jenkins-devops-blue"), start("jenkins-devops-green")]).toEqual([false, true]);
    expect([start("jenkins-ma-blue"), start("jenkins-ma-green")]).toEqual([true, false]);
  });

  it("protects home volumes and retains them on delete", () => {
    const volumes = ofType(prod.resources, VOLUME).filter((v) => /^jenkins-.*-home$/.test(v.name));
    expect(volumes).toHaveLength(8);
    for (const v of volumes) {
      expect(v.protect).toBe(true);
      expect(v.retainOnDelete).toBe(true);
      expect((v.inputs as Inputs).name).toBe(v.name);
    }
  });

  it("builds one image per team from its composed context, without pushing", () => {
    const images = ofType(prod.resources, IMAGE);
    // Jenkins images, one per team; plus the jenkins-ha CLI images the backup jobs and the healer run.
    expect(images.map((i) => i.name).sort()).toEqual(["backup-cli-vm1", "healer-cli-vm1", "jenkins-ba-image", "jenkins-devops-image", "jenkins-ma-image", "jenkins-tw-image"]);
    const inputs = resource(prod.resources, IMAGE, "jenkins-devops-image").inputs as Inputs;
    expect(inputs.skipPush).toBe(true);
    expect(prod.files["jenkins/devops/Dockerfile"]).toMatch(/^FROM jenkins\/jenkins:lts-jdk17$/m);
    expect(prod.files["jenkins/devops/jenkins.yaml"]).toContain("labelString: devops-dind");
  });

  it("declares HAProxy as a LoadBalancer component, config installed by a command, not baked into the container", () => {
    const lb = resource(prod.resources, "jenkins-ha:loadbalancer:LoadBalancer", "haproxy");
    const container = resource(prod.resources, CONTAINER, "haproxy-haproxy");
    expect(container.parent).toBe(lb.urn);
    const inputs = container.inputs as Inputs;
    expect(inputs.networkMode).toBe("host");
    expect(inputs.command).toEqual(["haproxy", "-W", "-db", "-f", "/var/lib/haproxy/run/haproxy.cfg"]);
    expect(inputs.uploads ?? []).toEqual([]);
    const install = resource(prod.resources, "command:local:Command", "haproxy-config");
    expect(install.parent).toBe(lb.urn);
    expect((install.inputs as Inputs).stdin).toBe(prod.files["haproxy/haproxy.cfg"]);
    expect(container.dependencies).toContain(install.urn);
  });

  it("exports per-team outputs and HAProxy endpoints, with secrets redacted", () => {
    const outputs = prod.outputs as Inputs;
    expect(outputs.teams.devops).toMatchObject({
      activeEnvironment: "green",
      standbyEnvironment: "blue",
      publicUrl: "http://127.0.0.1:8000",
      urls: { blue: "http://127.0.0.1:8080", green: "http://127.0.0.1:8180" },
      ports: { blue: { web: 8080, agent: 50000 }, green: { web: 8180, agent: 50100 } },
      haproxyBackend: "jenkins_devops",
    });
    expect(outputs.haproxy).toMatchObject({ statsUrl: "http://127.0.0.1:8405/stats", adminSocket: "/var/lib/jenkins-ha/haproxy/admin.sock" });
    expect(outputs.haproxy.statsPassword).toBe("[secret]");
    expect(outputs.jenkinsAdminPasswords).toBe("[secret]");
  });
});

describe("the program wires monitoring and logging", () => {
  it("declares Monitoring and Logging from the rendered files, and exports the targets", async () => {
    const prod = await renderConfig("prod", stackConfig("prod"));
    expect(ofType(prod.resources, "jenkins-ha:monitoring:Monitoring")).toHaveLength(1);
    expect(ofType(prod.resources, "jenkins-ha:logging:Logging")).toHaveLength(1);
    const outputs = prod.outputs as Inputs;
    expect(Object.keys(outputs.monitoringTargets.jenkins.teams).sort()).toEqual(["ba", "devops", "ma", "tw"]);
    expect(outputs.monitoring.prometheusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    expect(outputs.monitoring.grafanaAdminPassword).toBe("[secret]");
    expect(prod.files["prometheus/file_sd/devops.json"]).toContain('"environment": "green"');
    // Jenkins logs carry the labels Alloy needs.
    expect((resource(prod.resources, CONTAINER, "jenkins-devops-green").inputs as Inputs).logOpts.labels).toContain("jenkins-ha.team");
  });

  it("switching logging off removes Loki and Alloy and leaves every monitoring resource as it was", async () => {
    const on = await renderConfig("prod", stackConfig("prod"));
    const config = clone(stackConfig("prod")) as Inputs;
    config.logging = { enabled: false };
    const off = await renderConfig("prod", config);
    expect(ofType(off.resources, "jenkins-ha:logging:Logging")).toHaveLength(0);
    // Prometheus and Alertmanager (their files and containers) stay byte-identical.
    const prometheusStack = (r: RenderResult) =>
      r.resources
        .filter((x) => x.urn.includes("jenkins-ha:monitoring:Monitoring") && /prometheus|alertmanager/.test(x.name))
        .map((x) => `${x.urn} ${JSON.stringify(x.inputs)}`);
    const changed = prometheusStack(off).filter((line) => !prometheusStack(on).includes(line));
    expect(prometheusStack(off).length).toBeGreaterThan(5);
    expect(changed.map((line) => line.slice(0, 160))).toEqual([]);
    expect(Object.keys(off.files).some((f) => f.startsWith("loki/"))).toBe(false);
  });
});

describe("the program under mocks (several hosts)", () => {
  it("creates one docker provider per host and routes each team through its host's provider", async () => {
    const result = await renderConfig("multi", generatedConfig(6, 3));
    const providers = ofType(result.resources, PROVIDER);
    expect(providers.map((p) => [p.name, (p.inputs as Inputs).host]).sort()).toEqual([
      ["docker-vm1", "unix:///var/run/docker.sock"],
      ["docker-vm2", "ssh://deploy@vm2"],
      ["docker-vm3", "ssh://deploy@vm3"],
    ]);
    const urnOfRef = (ref: string) => ref.slice(0, ref.lastIndexOf("::")); // a provider ref is `<urn>::<id>`
    const providerOf = (name: string) => urnOfRef(resource(result.resources, CONTAINER, name).provider);
    const urnOf = (host: string) => providers.find((p) => p.name === `docker-${host}`)!.urn;
    expect(providerOf("jenkins-team-001-blue")).toBe(urnOf("vm1"));
    expect(providerOf("jenkins-team-002-green")).toBe(urnOf("vm2"));
    expect(providerOf("jenkins-team-003-blue")).toBe(urnOf("vm3"));
    expect(urnOfRef(resource(result.resources, VOLUME, "jenkins-team-002-blue-home").provider)).toBe(urnOf("vm2"));
  });

  it("installs the HAProxy config over SSH when HAProxy runs on an ssh:// host", async () => {
    const config = generatedConfig(2, 2);
    (config.platform as Inputs).haproxy.host = "vm2";
    const result = await renderConfig("remote-lb", config);
    const install = resource(result.resources, "command:remote:Command", "haproxy-config");
    expect((install.inputs as Inputs).connection).toMatchObject({ host: "vm2", user: "deploy", port: 22 });
  });

  it("refuses bad config before declaring anything", async () => {
    const config = clone(stackConfig("prod")) as Inputs;
    config.teams.ma.webPort = 8080;
    await expect(renderConfig("prod", config)).rejects.toThrow(/teams\.ma\.webPort: port 8080/);
    // The program itself, as `pulumi up` runs it, validates first: not one resource is registered.
    const run = await runProgram("prod", config);
    expect(run.error).toBeInstanceOf(ConfigValidationError);
    expect(String(run.error)).toMatch(/teams\.ma\.webPort: port 8080/);
    expect(run.resources.map((r) => `${r.type} ${r.name}`)).toEqual([]);
  });

  it("refuses a team imageDir that does not exist, naming the key and the fix, before declaring that team", async () => {
    const config = clone(stackConfig("prod")) as Inputs;
    config.teams.ma.imageDir = "jenkins/ma-typo";
    const message =
      /stopped before declaring team 'ma':\n {2}- teams\.ma\.imageDir: directory 'jenkins\/ma-typo' does not exist \(resolved to .*jenkins\/ma-typo\) — create .* or remove teams\.ma\.imageDir/;
    await expect(renderConfig("prod", config)).rejects.toThrow(message);
    const run = await runProgram("prod", config);
    expect(run.error).toBeInstanceOf(ConfigValidationError);
    expect((run.error as ConfigValidationError).problems.map((p) => p.path)).toEqual(["teams.ma.imageDir"]);
    expect(run.resources.filter((r) => r.name.startsWith("jenkins-ma"))).toEqual([]);
  });
});

/**
 * Runs the real program (program.ts, which validates config itself, as under `pulumi up`)
 * offline, and returns what it registered and what it threw.
 */
async function runProgram(stack: string, raw: Record<string, unknown>): Promise<{ resources: RegisteredResource[]; error: unknown }> {
  const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-build-"));
  let error: unknown;
  try {
    const run = await runOffline({
      project: PROJECT,
      stack,
      config: toPulumiConfigMap(raw),
      program: () => {
        try {
          return program({ projectDir: PROJECT_DIR, buildDir });
        } catch (err) {
          error = err;
          return undefined;
        }
      },
    });
    return { resources: run.resources, error };
  } finally {
    fs.rmSync(buildDir, { recursive: true, force: true });
  }
}

describe("a team's imageDir", () => {
  it("may be left out although jenkins/<team> does not exist (the team builds jenkins/base)", () => {
    expect(fs.existsSync(path.join(PROJECT_DIR, "jenkins", "devops"))).toBe(false);
    expect(imageDirProblem(PROJECT_DIR, "devops", "jenkins/devops")).toBeUndefined();
    expect(imageDirProblem(PROJECT_DIR, "devops", "jenkins/base")).toBeUndefined();
  });

  it("must exist, and be a directory, when the config names it", () => {
    expect(imageDirProblem(PROJECT_DIR, "ma", "images/ma")).toEqual({
      path: "teams.ma.imageDir",
      message: `directory 'images/ma' does not exist (resolved to ${path.join(PROJECT_DIR, "images", "ma")})`,
      fix: expect.stringMatching(/^create .*images\/ma with the team's overrides of jenkins\/base .* \(pulumi config rm --path teams\.ma\.imageDir\)$/),
    });
    expect(imageDirProblem(PROJECT_DIR, "ma", "jenkins/base/Dockerfile")).toMatchObject({
      path: "teams.ma.imageDir",
      message: expect.stringMatching(/^'jenkins\/base\/Dockerfile' is not a directory/),
    });
  });
});
