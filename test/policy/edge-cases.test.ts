import { haproxyAdminProblems, containerAdminProblems } from "../../policy/admin-surfaces";
import { healthAndRestartProblems, looksLikeSecretName, plaintextSecretProblems, privilegeProblems, PRIVILEGE_DEFAULTS } from "../../policy/containers";
import { haproxyBinds } from "../../policy/haproxy-config";
import { imageMismatchProblems, isFloatingImage, oneImagePerTeamPolicy, unpinnedPlugins } from "../../policy/images";
import { portCollisionProblems } from "../../policy/ports";
import { ContainerProps } from "../../policy/resources";
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

describe("one-image-per-team edge cases", () => {
  const TEAM_URN = "urn:pulumi:prod::jenkins-ha::jenkins-ha:jenkins:JenkinsTeam$docker:index/container:Container::";
  const OTHER_URN = "urn:pulumi:prod::jenkins-ha::jenkins-ha:monitoring:Monitoring$docker:index/container:Container::";
  const labels = (team: string, colour: string) => [
    { label: "jenkins-ha.team", value: team },
    { label: "jenkins-ha.environment", value: colour },
  ];
  /** A controller as JenkinsTeam declares it: in the component, labelled, named jenkins-<team>-<colour>. */
  const controller = (team: string, colour: string, image: string | undefined, props: ContainerProps = {}) => ({
    urn: `${TEAM_URN}jenkins-${team}-${colour}`,
    name: `jenkins-${team}-${colour}`,
    props: { name: `jenkins-${team}-${colour}`, image, labels: labels(team, colour), ...props },
  });

  it("passes when both colours of every team run the same image", () => {
    expect(
      imageMismatchProblems([
        controller("devops", "blue", "jenkins-ha/devops:0123456789ab"),
        controller("devops", "green", "jenkins-ha/devops:0123456789ab"),
        controller("ma", "blue", "jenkins-ha/ma:ba9876543210"),
        controller("ma", "green", "jenkins-ha/ma:ba9876543210"),
      ]),
    ).toEqual([]);
  });

  it("reports only the team whose colours differ, once, at its last container", () => {
    const green = controller("ma", "green", "jenkins-ha/ma:000000000000");
    expect(
      imageMismatchProblems([
        controller("devops", "blue", "jenkins-ha/devops:0123456789ab"),
        controller("devops", "green", "jenkins-ha/devops:0123456789ab"),
        controller("ma", "blue", "jenkins-ha/ma:ba9876543210"),
        green,
      ]),
    ).toEqual([
      {
        urn: green.urn,
        message:
          'team \'ma\' runs different images per colour (blue \'jenkins-ma-blue\' runs "jenkins-ha/ma:ba9876543210", green \'jenkins-ma-green\' runs "jenkins-ha/ma:000000000000"); ' +
          "both colours must use the team's one image (jenkins-ma-image) so a switch changes only the colour, never the code",
      },
    ]);
  });

  it("counts an image that is missing on one colour as a different image", () => {
    expect(imageMismatchProblems([controller("tw", "blue", "jenkins-ha/tw:0123456789ab"), controller("tw", "green", undefined)])).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/^team 'tw' runs different images per colour \(.*green 'jenkins-tw-green' runs null\)/) }),
    ]);
  });

  it("compares image references exactly: the same image by tag and by digest still differs", () => {
    const problems = imageMismatchProblems([
      controller("ba", "blue", "jenkins-ha/ba:0123456789ab"),
      controller("ba", "green", "jenkins-ha/ba@sha256:0123456789ab0123456789ab0123456789ab0123456789ab0123456789ab0123"),
    ]);
    expect(problems).toHaveLength(1);
  });

  it("needs both colours to compare: a team with one colour declared passes", () => {
    expect(imageMismatchProblems([controller("solo", "blue", "jenkins-ha/solo:0123456789ab")])).toEqual([]);
  });

  it("ignores containers that are not Jenkins controllers, whatever their names and images", () => {
    expect(
      imageMismatchProblems([
        { urn: `${OTHER_URN}monitoring-prometheus`, name: "monitoring-prometheus", props: { name: "jenkins-ha-prometheus", image: "prom/prometheus:v2" } },
        { urn: `${OTHER_URN}monitoring-grafana`, name: "monitoring-grafana", props: { name: "jenkins-ha-grafana", image: "grafana/grafana:11" } },
        // Looks like a controller by name only, outside a JenkinsTeam and unlabelled: not one.
        { urn: `${OTHER_URN}jenkins-x-green`, name: "jenkins-x-green", props: { name: "jenkins-x-green", image: "other:1" } },
        controller("x", "blue", "jenkins-ha/x:0123456789ab"),
      ]),
    ).toEqual([]);
  });

  it("finds the team by the JenkinsTeam URN and name when a change drops the labels (team names with dashes too)", () => {
    const unlabelled = (team: string, colour: string, image: string) => ({ ...controller(team, colour, image), props: { name: `jenkins-${team}-${colour}`, image } });
    expect(imageMismatchProblems([unlabelled("data-eng", "blue", "jenkins-ha/data-eng:1"), unlabelled("data-eng", "green", "jenkins-ha/data-eng:2")])).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/^team 'data-eng' runs different images per colour/) }),
    ]);
  });

  it("trusts the team and colour labels over the container name", () => {
    // Renamed containers of one team still belong to it by their labels.
    const blue = { ...controller("ma", "blue", "jenkins-ha/ma:1"), name: "controller-1", props: { name: "controller-1", image: "jenkins-ha/ma:1", labels: labels("ma", "blue") } };
    const green = { ...controller("ma", "green", "jenkins-ha/ma:2"), name: "controller-2", props: { name: "controller-2", image: "jenkins-ha/ma:2", labels: labels("ma", "green") } };
    expect(imageMismatchProblems([blue, green])).toEqual([expect.objectContaining({ urn: green.urn, message: expect.stringMatching(/^team 'ma' .*blue 'controller-1' .*green 'controller-2'/) })]);
  });

  it("reports through the stack policy, one violation per team, at the team's URN", () => {
    const reported: Array<{ message: string; urn?: string }> = [];
    const resource = (c: ReturnType<typeof controller>) => ({ type: "docker:index/container:Container", urn: c.urn, name: c.name, props: c.props });
    const args = {
      resources: [
        controller("a", "blue", "img:1"),
        controller("a", "green", "img:2"),
        controller("b", "blue", "img:3"),
        controller("b", "green", "img:4"),
      ].map(resource),
    };
    // Only `resources` is read; the rest of StackValidationArgs is irrelevant here.
    oneImagePerTeamPolicy.validateStack(args as never, (message, urn) => reported.push({ message, urn }));
    expect(reported.map((r) => [r.urn, r.message.slice(0, 8)])).toEqual([
      [`${TEAM_URN}jenkins-a-green`, "team 'a'"],
      [`${TEAM_URN}jenkins-b-green`, "team 'b'"],
    ]);
  });
});
