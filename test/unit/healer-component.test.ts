import * as pulumi from "@pulumi/pulumi";
import { RenderResult } from "../../automation/offline/render";
import { RegisteredResource } from "../../automation/offline/runtime";
import { PRIVILEGE_DEFAULTS, plaintextSecretProblems, privilegeProblems } from "../../policy/containers";
import { ContainerProps } from "../../policy/resources";
import { clone, stackConfig } from "../support/stacks";
import { ofType, renderConfig, resource } from "../support/offline";

const COMPONENT = "jenkins-ha:heal:Healer";
const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/image:Image";

interface HealerInputs {
  name: string;
  image: string;
  user: string;
  networkMode: string;
  restart: string;
  command: string[];
  envs: string[];
  volumes: { hostPath?: string; containerPath: string; readOnly?: boolean }[];
  labels: { label: string; value: string }[];
  healthcheck: { tests: string[] };
  uploads: { file: string; content: string }[];
}
const inputs = (r: RegisteredResource) => r.inputs as unknown as HealerInputs;

/** The program under mocks: the Healer component as the real program declares it. */
describe("Healer component (prod stack under mocks)", () => {
  let prod: RenderResult;
  let off: RenderResult;
  beforeAll(async () => {
    prod = await renderConfig("prod", stackConfig("prod"));
    const raw = clone(stackConfig("prod"));
    for (const team of Object.values(raw.teams as Record<string, Record<string, unknown>>)) team.healing = { mode: "off" };
    off = await renderConfig("prod", raw);
  });

  it("is one component (prod teams default to monitor mode) with its CLI image and container as children", () => {
    const component = resource(prod.resources, COMPONENT, "healer");
    const children = prod.resources.filter((r) => r.parent === component.urn);
    expect(children.map((r) => `${r.type} ${r.name}`).sort()).toEqual([`${CONTAINER} healer-container`, `${IMAGE} healer-cli-vm1`]);
    expect(resource(prod.resources, CONTAINER, "healer-container").provider).toContain("pulumi:providers:docker::docker-vm1::");
  });

  it("runs `heal run` with the Docker socket, label role=healer, a health check, restart unless-stopped, host network on healing.port", () => {
    const c = inputs(resource(prod.resources, CONTAINER, "healer-container"));
    expect(c).toMatchObject({ name: "jenkins-ha-healer", image: "jenkins-ha/cli:healer", restart: "unless-stopped", networkMode: "host", user: "0:0" });
    expect(c.command).toEqual(["heal", "run", "--stack", "prod", "--listen", "0.0.0.0:9095", "--haproxy-socket", "/haproxy/admin.sock", "--switch", "queue"]);
    expect(c.labels).toEqual(expect.arrayContaining([{ label: "jenkins-ha.role", value: "healer" }]));
    expect(c.volumes).toEqual([
      { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" },
      { hostPath: "/var/lib/jenkins-ha/haproxy", containerPath: "/haproxy", readOnly: true },
    ]);
    expect(c.healthcheck.tests.join(" ")).toContain("http://127.0.0.1:9095/healthz");
  });

  it("gets the healer role's DB URL as an uploaded secret file, never an env var", () => {
    const r = resource(prod.resources, CONTAINER, "healer-container");
    const c = inputs(r);
    expect(c.envs).toEqual(["TZ=UTC", "JENKINS_HA_DATABASE_URL_FILE=/run/secrets/jenkins-ha-database-url"]);
    expect(c.envs.join(" ")).not.toMatch(/postgres:\/\//);
    expect(r.secretInputs).toContain("uploads");
    expect(c.uploads.map((u) => u.file)).toEqual(["/opt/jenkins-ha/Pulumi.prod.yaml", "/run/secrets/jenkins-ha-database-url"]);
    const stackFile = c.uploads[0].content;
    expect(stackFile).toContain("jenkins-ha:teams:");
    expect(stackFile).toContain("jenkins-ha:healing:");
    expect(stackFile).not.toContain("jenkins-ha:coordination:");
    // What a switch changes is left out, so a switch never replaces the healer itself.
    expect(stackFile).not.toMatch(/activeEnvironment|standbyRunning|switchRecord/);
  });

  it("is the same container whichever colour a team runs (a switch leaves the healer alone)", async () => {
    const raw = clone(stackConfig("prod"));
    const ma = (raw.teams as Record<string, Record<string, unknown>>).ma;
    ma.activeEnvironment = ma.activeEnvironment === "blue" ? "green" : "blue";
    ma.standbyRunning = true;
    const switched = await renderConfig("prod", raw);
    expect(resource(switched.resources, CONTAINER, "healer-container").inputs).toEqual(resource(prod.resources, CONTAINER, "healer-container").inputs);
  });

  it("passes the container policies: the socket is allowed for role=healer only, no plain secret", () => {
    const r = resource(prod.resources, CONTAINER, "healer-container");
    const props = r.inputs as unknown as ContainerProps;
    expect(privilegeProblems(r.urn, "jenkins-ha-healer", props, PRIVILEGE_DEFAULTS)).toEqual([]);
    expect(plaintextSecretProblems("jenkins-ha-healer", props)).toEqual([]);
    const relabelled = { ...props, labels: [{ label: "jenkins-ha.role", value: "backup" }] };
    expect(privilegeProblems(r.urn, "jenkins-ha-healer", relabelled, PRIVILEGE_DEFAULTS).join("\n")).toMatch(/mounts the Docker socket/);
  });

  it("switches through the queue by default; healing.switchVia 'orchestrator' is passed on with a warning (no Pulumi workspace in the container)", async () => {
    const raw = clone(stackConfig("prod"));
    raw.healing = { ...(raw.healing as Record<string, unknown>), switchVia: "orchestrator" };
    const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(async () => undefined);
    try {
      const r = await renderConfig("prod", raw);
      expect(inputs(resource(r.resources, CONTAINER, "healer-container")).command.slice(-2)).toEqual(["--switch", "orchestrator"]);
      expect(warn.mock.calls.map((c) => String(c[0])).join("\n")).toMatch(/no Pulumi CLI.*Use 'queue'/);
    } finally {
      warn.mockRestore();
    }
  });

  it("is not declared when every team's healing mode is off", () => {
    expect(ofType(off.resources, COMPONENT)).toEqual([]);
    expect(off.resources.filter((r) => r.name.startsWith("healer-"))).toEqual([]);
  });
});
