import { RenderResult } from "../../automation/offline/render";
import { clone, stackConfig } from "../support/stacks";
import { ofType, renderConfig, resource } from "../support/offline";

const COMPONENT = "jenkins-ha:coordination:CoordinationDatabase";
type Inputs = Record<string, any>; // provider inputs are untyped JSON

describe("CoordinationDatabase under mocks", () => {
  let prod: RenderResult;
  beforeAll(async () => {
    prod = await renderConfig("prod", stackConfig("prod"));
  });

  it("runs PostgreSQL as a container on the HAProxy host, on loopback, with its data volume protected", () => {
    const component = resource(prod.resources, COMPONENT, "coordination");
    const container = resource(prod.resources, "docker:index/container:Container", "coordination-server");
    expect(container.parent).toBe(component.urn);
    const inputs = container.inputs as Inputs;
    expect(inputs.ports).toEqual([expect.objectContaining({ internal: 5432, external: 5432, ip: "127.0.0.1" })]);
    expect(inputs.restart).toBe("unless-stopped");
    expect(inputs.healthcheck.tests.join(" ")).toContain("pg_isready");
    // The superuser password is an uploaded secret file, not an env var.
    expect(inputs.envs).toContain("POSTGRES_PASSWORD_FILE=/run/secrets/postgres-password");
    expect(container.secretInputs).toContain("uploads");
    expect(container.provider).toContain("pulumi:providers:docker::docker-vm1::");
    const volume = resource(prod.resources, "docker:index/volume:Volume", "coordination-data");
    expect(volume).toMatchObject({ protect: true, retainOnDelete: true, parent: component.urn });
    expect((inputs.volumes as Inputs[])[0].volumeName).toBe("jenkins-ha-coordination-data");
  });

  it("creates the database, the three least-privilege roles with generated secret passwords, and CONNECT grants", () => {
    const pgProvider = resource(prod.resources, "pulumi:providers:postgresql", "coordination-postgresql");
    expect(pgProvider.secretInputs).toContain("password");
    expect(pgProvider.inputs).toMatchObject({ host: "127.0.0.1", username: "postgres" });
    const database = resource(prod.resources, "postgresql:index/database:Database", "coordination-database");
    expect(database.inputs).toMatchObject({ name: "jenkins_coordination" });
    expect(database.protect).toBe(true);
    const roles = ofType(prod.resources, "postgresql:index/role:Role");
    expect(roles.map((r) => (r.inputs as Inputs).name).sort()).toEqual(["healer", "orchestrator", "reader"]);
    for (const role of roles) {
      expect(role.provider).toContain("pulumi:providers:postgresql::");
      expect(role.secretInputs).toContain("password");
      expect(role.inputs).toMatchObject({ login: true, superuser: false, createRole: false, createDatabase: false });
    }
    const grants = ofType(prod.resources, "postgresql:index/grant:Grant").map((g) => g.inputs as Inputs);
    expect(grants.map((g) => g.role).sort()).toEqual(["healer", "orchestrator", "reader"]);
    expect(grants.every((g) => g.objectType === "database" && g.privileges.join() === "CONNECT")).toBe(true);
    const passwords = ofType(prod.resources, "random:index/randomPassword:RandomPassword").filter((r) => r.name.startsWith("coordination-"));
    expect(passwords.map((p) => p.name).sort()).toEqual(["coordination-healer-password", "coordination-orchestrator-password", "coordination-reader-password", "coordination-superuser-password"]);
  });

  it("migrates with 'jenkins-ha db migrate' after the roles exist, re-run only when the SQL changes", () => {
    const migrate = resource(prod.resources, "command:local:Command", "coordination-migrate");
    const inputs = migrate.inputs as Inputs;
    expect(inputs.create).toBe("node bin/jenkins-ha.js db migrate");
    expect(migrate.secretInputs).toContain("environment");
    expect(inputs.triggers).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
    const roleUrns = ofType(prod.resources, "postgresql:index/role:Role").map((r) => r.urn);
    expect(migrate.dependencies).toEqual(expect.arrayContaining(roleUrns));
  });

  it("exports where it is and the role URLs as secrets", () => {
    const outputs = prod.outputs as Record<string, any>;
    expect(outputs.coordination).toMatchObject({ address: "127.0.0.1", port: 5432, database: "jenkins_coordination", urls: "[secret]" });
  });

  it("uses an existing server in external mode: no container, no volume, the admin password kept secret", async () => {
    const raw = clone(stackConfig("prod"));
    raw.coordination = { mode: "external", external: { address: "db.internal", port: 6432, adminUser: "admin", adminPassword: "from-secret-config" } };
    const result = await renderConfig("prod", raw);
    expect(ofType(result.resources, "docker:index/container:Container").some((r) => r.name === "coordination-server")).toBe(false);
    expect(ofType(result.resources, "docker:index/volume:Volume").some((r) => r.name === "coordination-data")).toBe(false);
    const provider = resource(result.resources, "pulumi:providers:postgresql", "coordination-postgresql");
    expect(provider.inputs).toMatchObject({ host: "db.internal", port: "6432", username: "admin", sslmode: "require" });
    expect(JSON.stringify(provider.redactedInputs)).not.toContain("from-secret-config");
    expect((result.outputs as Record<string, any>).coordination).toMatchObject({ address: "db.internal", port: 6432 });
  });
});
