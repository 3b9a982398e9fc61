import { haproxyAdminProblems, containerAdminProblems } from "../../policy/admin-surfaces";
import { healthAndRestartProblems, looksLikeSecretName, plaintextSecretProblems, privilegeProblems, PRIVILEGE_DEFAULTS } from "../../policy/containers";
import { haproxyBinds } from "../../policy/haproxy-config";
import { isFloatingImage, unpinnedPlugins } from "../../policy/images";
import { portCollisionProblems } from "../../policy/ports";
import {
  SWITCH_BUDGET_DEFAULTS,
  SWITCH_RECORD_DEFAULTS,
  SwitchStateProps,
  switchBudgetProblems,
  switchRecordProblems,
} from "../../policy/switch";
import { volumeProtectionProblems, mustBeProtected, PROTECTED_VOLUME_DEFAULTS } from "../../policy/volumes";
import { switchRecord } from "./support";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const at = (minutesBefore: number) => new Date(NOW - minutesBefore * 60_000).toISOString();
const switching = (record?: Record<string, unknown>): SwitchStateProps => ({
  team: "devops",
  activeEnvironment: "green",
  lastDeployedEnvironment: "blue",
  switchRecord: record,
});
const record = (overrides: Record<string, unknown> = {}) =>
  switchRecord("blue", "green", { backupVerifiedAt: at(10), requestedAt: at(12), lastSwitchAt: at(200), ...overrides });

describe("switch-record edge cases", () => {
  const check = (state: SwitchStateProps) => switchRecordProblems(state, SWITCH_RECORD_DEFAULTS, NOW);

  it("accepts a backup exactly at the window, refuses one a minute older", () => {
    expect(check(switching(record({ backupVerifiedAt: at(60) })))).toEqual([]);
    expect(check(switching(record({ backupVerifiedAt: at(61) })))).toEqual([expect.stringMatching(/verified 61 min ago/)]);
  });

  it("tolerates small clock skew, refuses a verification far in the future", () => {
    expect(check(switching(record({ backupVerifiedAt: at(-4) })))).toEqual([]);
    expect(check(switching(record({ backupVerifiedAt: at(-30) })))).toEqual([expect.stringMatching(/verified in the future .* check the clocks/)]);
  });

  it("refuses an unparseable time and blank fields, naming each", () => {
    expect(check(switching(record({ backupVerifiedAt: "yesterday" })))).toEqual([expect.stringMatching(/'yesterday' is not an ISO-8601 time/)]);
    expect(check(switching(record({ requestedBy: " ", reason: "" })))).toEqual([expect.stringMatching(/lacks requestedBy, reason;/)]);
  });

  it("fails closed when the component carries no switch state", () => {
    expect(check({})).toEqual([expect.stringMatching(/carries no switch state .* PULUMI_NODEJS_SKIP_COMPONENT_INPUTS/)]);
  });

  it("needs nothing when the colour does not change or was never deployed", () => {
    expect(check({ team: "t", activeEnvironment: "blue", lastDeployedEnvironment: "blue" })).toEqual([]);
    expect(check({ team: "t", activeEnvironment: "blue" })).toEqual([]);
  });
});

describe("switch-budget edge cases", () => {
  const check = (state: SwitchStateProps) => switchBudgetProblems(state, SWITCH_BUDGET_DEFAULTS);

  it("allows one below each limit and a cooldown exactly elapsed", () => {
    expect(check(switching(record({ switchesLastHour: 1, switchesLastDay: 4, lastSwitchAt: at(42), requestedAt: at(12) })))).toEqual([]);
    expect(check(switching(record({ lastSwitchAt: at(41), requestedAt: at(12) })))).toEqual([expect.stringMatching(/30 min cooldown ends at/)]);
  });

  it("needs no lastSwitchAt for a team's first switch", () => {
    expect(check(switching(record({ lastSwitchAt: undefined })))).toEqual([]);
  });

  it("exempts rollbacks and forced switches, reports every exceeded limit otherwise", () => {
    const over = { switchesLastHour: 3, switchesLastDay: 6, lastSwitchAt: at(13) };
    expect(check(switching(record({ ...over, mode: "rollback" })))).toEqual([]);
    expect(check(switching(record({ ...over, forced: true })))).toEqual([]);
    expect(check(switching(record(over)))).toHaveLength(3);
  });
});

describe("container edge cases", () => {
  it("health check NONE and a missing restart policy count as none", () => {
    expect(healthAndRestartProblems("c", { healthcheck: { tests: ["NONE"] }, restart: "on-failure" })).toEqual([expect.stringMatching(/no health check/)]);
    expect(healthAndRestartProblems("c", { healthcheck: { tests: ["CMD", "true"] } })).toEqual([expect.stringMatching(/restart policy 'no'/)]);
  });

  it("secret names: word parts, not substrings; *_FILE indirections are fine", () => {
    expect(["DB_PASSWORD", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "api.key", "ApiKey".toUpperCase()].map(looksLikeSecretName)).toEqual([true, true, true, true, true]);
    expect(["GF_SECURITY_ADMIN_PASSWORD__FILE", "MONKEY", "KEYCLOAK_URL", "TOKENIZER", "JENKINS_TEAM", "SSH_KEY_PATH"].map(looksLikeSecretName)).toEqual([false, false, false, false, false, false]);
    expect(plaintextSecretProblems("c", { envs: ["DB_PASSWORD="] })).toEqual([]);
  });

  it("privilege: SYS_ADMIN counts; the allowed roles are config", () => {
    expect(privilegeProblems("urn:x", "c", { capabilities: { adds: ["sys_admin"] } }, PRIVILEGE_DEFAULTS)).toEqual([expect.stringMatching(/SYS_ADMIN|sys_admin/)]);
    const dind = { privileged: true, labels: [{ label: "jenkins-ha.role", value: "dind-agent" }] };
    expect(privilegeProblems("urn:x", "c", dind, PRIVILEGE_DEFAULTS)).toEqual([]);
    expect(privilegeProblems("urn:x", "c", dind, { allowedRoles: ["healer"] })).toHaveLength(1);
    expect(privilegeProblems("urn:x", "c", { volumes: [{ hostPath: "/var/run/", containerPath: "/x" }] }, PRIVILEGE_DEFAULTS)).toHaveLength(1);
  });

  it("Prometheus with --web.config.file may listen on every interface", () => {
    expect(containerAdminProblems("p", { command: ["--web.listen-address=:9090", "--web.config.file=/etc/web.yml"] })).toEqual([]);
    expect(containerAdminProblems("p", { command: ["--web.listen-address=:9090"] })).toHaveLength(1);
  });
});

describe("volumes, images, ports, haproxy.cfg", () => {
  it("volume patterns and the offline-only retainOnDelete", () => {
    expect(mustBeProtected("urn", "jenkins-my-team-blue-home", PROTECTED_VOLUME_DEFAULTS)).toBe(true);
    expect(mustBeProtected("urn", "jenkins-ha-grafana-data", PROTECTED_VOLUME_DEFAULTS)).toBe(false);
    // The real engine does not pass retainOnDelete: unknown is not a violation.
    expect(volumeProtectionProblems("v", { protect: true } as never)).toEqual([]);
  });

  it("floating images and unpinned plugins", () => {
    expect(["nginx", "nginx:latest", "localhost:5000/nginx", "a/b:latest"].map(isFloatingImage)).toEqual([true, true, true, true]);
    expect(["nginx:1.27", "localhost:5000/nginx:1.2", "nginx@sha256:abc"].map(isFloatingImage)).toEqual([false, false, false]);
    expect(unpinnedPlugins("# c\ngit:5.2\njob-dsl\nmatrix:latest\n  \nfoo: \n")).toEqual(["job-dsl", "matrix:latest", "foo:"]);
  });

  it("ports: wildcard overlaps a specific address; different hosts and protocols do not collide", () => {
    const l = (host: string, address: string, port: number, owner: string, protocol = "tcp") => ({ host, address, port, protocol, owner, urn: owner });
    expect(portCollisionProblems([l("h1", "127.0.0.1", 80, "a"), l("h1", "0.0.0.0", 80, "b")])).toHaveLength(1);
    expect(portCollisionProblems([l("h1", "127.0.0.1", 80, "a"), l("h1", "10.0.0.1", 80, "b")])).toEqual([]);
    expect(portCollisionProblems([l("h1", "0.0.0.0", 80, "a"), l("h2", "0.0.0.0", 80, "b"), l("h1", "0.0.0.0", 80, "c", "udp")])).toEqual([]);
  });

  it("haproxy.cfg: binds, listen sections, conditional auth that leaves /metrics open", () => {
    const cfg = ["listen stats", "    bind :8405,127.0.0.1:8406", "    bind unix@/run/x.sock", "    stats enable", "    http-request auth if { path_beg /stats }"].join("\n");
    expect(haproxyBinds(cfg).map((b) => `${b.host}:${b.port}`)).toEqual([":8405", "127.0.0.1:8406"]);
    expect(haproxyAdminProblems(cfg)).toEqual([expect.stringMatching(/serves stats \/ metrics on \*:8405 without auth/)]);
    expect(haproxyAdminProblems(cfg.replace("if { path_beg /stats }", ""))).toEqual([]);
  });
});
