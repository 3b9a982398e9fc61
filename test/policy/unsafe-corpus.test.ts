import { RegisteredResource } from "../../automation/offline/runtime";
import { policies } from "../../policy/policies";
import {
  CONTAINER,
  Inputs,
  PROD_DEPLOYED,
  RawConfig,
  VOLUME,
  checkPolicies,
  deployedColours,
  devopsSwitch,
  find,
  minutesAgo,
  prodConfig,
  sharedRender,
  summary,
  switchRecord,
  teamsOf,
} from "./support";

/**
 * Unsafe changes, each blocked by the right mandatory policy (or, for the two advisory
 * policies, warned about) with a message that says what to do. Where stack config can
 * express the unsafe thing, the case is a config and nothing else (no `mutate`); where the
 * program can never produce it (it never makes a privileged Jenkins container), the case
 * runs the real program and then changes what it registered — what a bad code change in
 * components/ would produce. docs/policy.md ("Which unsafe changes config can express")
 * says which policies are which, and why.
 */
interface UnsafeCase {
  name: string;
  /** Config, and the last deployment's outputs (default: never deployed). */
  config: () => { raw: RawConfig; previousOutputs?: Record<string, unknown> };
  mutate?: (resources: RegisteredResource[]) => void;
  policy: string;
  /** Advisory policies warn; the case then asserts the warning and no mandatory violation. */
  level?: "advisory";
  message: RegExp;
}

const inputs = (resources: RegisteredResource[], type: string, name: string) => find(resources, type, name).inputs as Inputs;
const configOnly = (edit: (raw: RawConfig) => void) => () => {
  const raw = prodConfig();
  edit(raw);
  return { raw };
};
const prod = () => ({ raw: prodConfig() });
// The monitoring and HAProxy sections are plain objects in the raw config.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const section = (raw: RawConfig, key: string): Record<string, any> => (raw[key] ??= {}) as Record<string, unknown>;
/** Both owners named in a port-isolation message, in either order. */
const collision = (port: number, a: string, b: string) =>
  new RegExp(`^port ${port}/tcp on host 'docker-vm1' is used by both (${a} .* and ${b}|${b} .* and ${a}) .*; give one of them another port in the stack config`);
/** Fixture image inputs (a team's plugins.txt overlay), relative to the project root as imageDir is. */
const FIXTURE_IMAGE_DIR = "test/fixtures/images/unpinned-plugins";

const CASES: UnsafeCase[] = [
  // ---- config: switches
  {
    name: "switch without a record (activeEnvironment edited by hand)",
    config: () => devopsSwitch(),
    policy: "switch-record",
    message: /team 'devops' switches blue -> green without a switch record; run 'jenkins-ha switch --team devops --to green'/,
  },
  {
    name: "switch with a stale backup (verified 3 h ago)",
    config: () => devopsSwitch(switchRecord("blue", "green", { backupVerifiedAt: minutesAgo(180) })),
    policy: "switch-record",
    message: /backup 'backup-devops-0001' was verified 18\d min ago .* more than the 60 min allowed; run and verify a new backup/,
  },
  {
    name: "switch carrying the record of another switch (green -> blue)",
    config: () => devopsSwitch(switchRecord("green", "blue")),
    policy: "switch-record",
    message: /is for green -> blue, but this deployment switches blue -> green; the record is left from another switch/,
  },
  {
    name: "switch whose record names no backup",
    config: () => devopsSwitch(switchRecord("blue", "green", { backupId: "none" })),
    policy: "switch-record",
    message: /names no backup \(backupId 'none'\); run a verified backup first/,
  },
  {
    name: "switch budget exceeded: 2 switches in the last hour",
    config: () => devopsSwitch(switchRecord("blue", "green", { switchesLastHour: 2, switchesLastDay: 2, lastSwitchAt: minutesAgo(40) })),
    policy: "switch-budget",
    message: /team 'devops' had 2 switches in the last hour \(max 2\); wait, or ask on-call for 'jenkins-ha switch --mode force'/,
  },
  {
    name: "switch budget exceeded: 5 switches in the last day",
    config: () => devopsSwitch(switchRecord("blue", "green", { switchesLastDay: 5 })),
    policy: "switch-budget",
    message: /had 5 switches in the last day \(max 5\)/,
  },
  {
    name: "switch inside the 30 min cooldown",
    config: () => devopsSwitch(switchRecord("blue", "green", { lastSwitchAt: minutesAgo(20), requestedAt: minutesAgo(6) })),
    policy: "switch-budget",
    message: /the 30 min cooldown ends at .*; wait/,
  },
  {
    name: "switch whose record carries no budget proof",
    config: () => devopsSwitch(switchRecord("blue", "green", { switchesLastHour: undefined, switchesLastDay: undefined, lastSwitchAt: undefined })),
    policy: "switch-budget",
    message: /carries no budget proof .* it reads them from the coordination database/,
  },
  // ---- config: admin surfaces and ports
  {
    name: "Prometheus and Alertmanager on 0.0.0.0 without auth",
    config: configOnly((raw) => (section(raw, "monitoring").bindAddress = "0.0.0.0")),
    policy: "admin-surfaces-private",
    message: /container 'jenkins-ha-prometheus' listens on all interfaces \(--web.listen-address=0.0.0.0:9090\) without auth; .* set monitoring.bindAddress to 127.0.0.1/,
  },
  {
    name: "Grafana on 0.0.0.0 with open sign-up",
    config: configOnly((raw) => {
      section(raw, "monitoring").bindAddress = "0.0.0.0";
      section(raw, "monitoring").grafana = { allowSignUp: true };
    }),
    policy: "admin-surfaces-private",
    message: /Grafana 'jenkins-ha-grafana' listens on all interfaces with GF_USERS_ALLOW_SIGN_UP=true/,
  },
  {
    name: "Grafana moved onto a team's public port (HAProxy and Grafana both bind 8003)",
    config: configOnly((raw) => (section(raw, "monitoring").ports = { grafana: 8003 })),
    policy: "port-isolation",
    message: /port 8003\/tcp on host 'docker-vm1' is used by both jenkins-ha-grafana .* and jenkins-ha-haproxy \(frontend jenkins_tw_front\)|port 8003\/tcp on host 'docker-vm1' is used by both jenkins-ha-haproxy \(frontend jenkins_tw_front\) .* and jenkins-ha-grafana/,
  },
  {
    name: "switch whose backup is verified in the future (clock skew beyond 5 min)",
    config: () => devopsSwitch(switchRecord("blue", "green", { backupVerifiedAt: minutesAgo(-30) })),
    policy: "switch-record",
    message: /backup 'backup-devops-0001' is verified in the future .*; check the clocks of the backup host/,
  },
  {
    name: "switch whose backupVerifiedAt is not a time",
    config: () => devopsSwitch(switchRecord("blue", "green", { backupVerifiedAt: "yesterday" })),
    policy: "switch-record",
    message: /backupVerifiedAt 'yesterday' is not an ISO-8601 time; run 'jenkins-ha switch --team devops --to green'/,
  },
  {
    name: "forced switch with a stale backup (force skips the budget, never the backup)",
    config: () => devopsSwitch(switchRecord("blue", "green", { mode: "force", switchesLastHour: 4, backupVerifiedAt: minutesAgo(90) })),
    policy: "switch-record",
    message: /backup 'backup-devops-0001' was verified 9\d min ago .* more than the 60 min allowed/,
  },
  {
    name: "staged switch over budget (record written, standby started, colour not yet changed)",
    config: () => {
      const raw = prodConfig();
      teamsOf(raw).ma.standbyRunning = true;
      teamsOf(raw).ma.switchRecord = switchRecord("blue", "green", { switchesLastHour: 1, switchesLastDay: 5 });
      return { raw, previousOutputs: deployedColours(PROD_DEPLOYED) };
    },
    policy: "switch-budget",
    message: /team 'ma' had 5 switches in the last day \(max 5\); wait, or ask on-call/,
  },
  {
    name: "Prometheus moved onto HAProxy's stats port (both bind 127.0.0.1:8405)",
    config: configOnly((raw) => (section(raw, "monitoring").ports = { prometheus: 8405 })),
    policy: "port-isolation",
    message: collision(8405, "jenkins-ha-prometheus", "jenkins-ha-haproxy \\(frontend stats\\)"),
  },
  {
    name: "coordination database published on Alertmanager's port",
    config: configOnly((raw) => (section(raw, "coordination").port = 9093)),
    policy: "port-isolation",
    message: collision(9093, "jenkins-ha-coordination-db", "jenkins-ha-alertmanager"),
  },
  {
    name: "Alloy's UI moved onto Grafana's port",
    config: configOnly((raw) => (section(raw, "logging").ports = { alloy: 3000 })),
    policy: "port-isolation",
    message: collision(3000, "jenkins-ha-alloy", "jenkins-ha-grafana"),
  },
  // ---- config: advisory
  {
    name: "advisory: HAProxy image tagged latest",
    config: configOnly((raw) => (section(raw, "platform").haproxy.image = "haproxy:latest")),
    policy: "image-tags-pinned",
    level: "advisory",
    message: /^'haproxy-image' uses image 'haproxy:latest', which floats .*; pin a version tag or digest/,
  },
  {
    name: "advisory: Grafana image without a tag",
    config: configOnly((raw) => (section(raw, "monitoring").images = { grafana: "grafana/grafana" })),
    policy: "image-tags-pinned",
    level: "advisory",
    message: /^'monitoring-grafana-image' uses image 'grafana\/grafana', which floats/,
  },
  {
    name: "advisory: a team's imageDir with unpinned plugins",
    config: configOnly((raw) => (teamsOf(raw).tw.imageDir = FIXTURE_IMAGE_DIR)),
    policy: "plugin-versions-pinned",
    level: "advisory",
    message: /^image 'jenkins-tw-image' installs plugins without a pinned version \(git, matrix-auth:latest\); write them as <id>:<version> in the team's plugins.txt/,
  },
  // ---- what a bad code change would register
  {
    name: "mismatched images: green built from another image",
    config: prod,
    mutate: (rs) => (inputs(rs, CONTAINER, "jenkins-ma-green").image = "jenkins-ha/ma:0123456789ab"),
    policy: "one-image-per-team",
    message: /team 'ma' runs different images per colour .* both colours must use the team's one image \(jenkins-ma-image\)/,
  },
  {
    name: "privileged Jenkins controller",
    config: prod,
    mutate: (rs) => (inputs(rs, CONTAINER, "jenkins-devops-green").privileged = true),
    policy: "no-privileged-no-docker-socket",
    message: /container 'jenkins-devops-green' runs privileged; remove privileged: true/,
  },
  {
    name: "Docker socket mounted into a Jenkins controller",
    config: prod,
    mutate: (rs) => inputs(rs, CONTAINER, "jenkins-tw-blue").volumes.push({ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }),
    policy: "no-privileged-no-docker-socket",
    message: /container 'jenkins-tw-blue' mounts the Docker socket \(\/var\/run\/docker.sock -> \/var\/run\/docker.sock\), which is root on the host; remove the mount/,
  },
  {
    name: "Jenkins controller labelled as the healer still may not mount the socket",
    config: prod,
    mutate: (rs) => {
      const c = inputs(rs, CONTAINER, "jenkins-ba-blue");
      c.labels.push({ label: "jenkins-ha.role", value: "healer" });
      c.mounts = [{ type: "bind", source: "/run/docker.sock", target: "/var/run/docker.sock" }];
    },
    policy: "no-privileged-no-docker-socket",
    message: /container 'jenkins-ba-blue' mounts the Docker socket \(\/run\/docker.sock/,
  },
  {
    name: "host root mounted writable into Alloy",
    config: prod,
    mutate: (rs) => inputs(rs, CONTAINER, "logging-alloy-vm1").volumes.push({ hostPath: "/", containerPath: "/host" }),
    policy: "no-privileged-no-docker-socket",
    message: /container 'jenkins-ha-alloy' mounts \/ writable \(-> \/host\), which includes the Docker socket/,
  },
  {
    name: "plaintext admin password in an env var",
    config: prod,
    mutate: (rs) => inputs(rs, CONTAINER, "jenkins-ma-blue").envs.push("JENKINS_ADMIN_PASSWORD=hunter2"),
    policy: "no-plaintext-secrets",
    message: /container 'jenkins-ma-blue' sets JENKINS_ADMIN_PASSWORD in a plain env var .* point JENKINS_ADMIN_PASSWORD_FILE/,
  },
  {
    name: "API token in a container label",
    config: prod,
    mutate: (rs) => inputs(rs, CONTAINER, "monitoring-grafana").labels.push({ label: "grafana.api-token", value: "glsa_123" }),
    policy: "no-plaintext-secrets",
    message: /has label grafana.api-token holding a value that looks like a credential/,
  },
  {
    name: "unprotected Jenkins home volume",
    config: prod,
    mutate: (rs) => (find(rs, VOLUME, "jenkins-devops-green-home").protect = false),
    policy: "protected-state-volumes",
    message: /volume 'jenkins-devops-green-home' .* lacks protect: true; declare it with \{ protect: true, retainOnDelete: true \}/,
  },
  {
    name: "home volume not retained on delete",
    config: prod,
    mutate: (rs) => (find(rs, VOLUME, "jenkins-ma-blue-home").retainOnDelete = false),
    policy: "protected-state-volumes",
    message: /volume 'jenkins-ma-blue-home' .* lacks retainOnDelete: true/,
  },
  {
    name: "coordination database volume unprotected",
    config: prod,
    mutate: (rs) => {
      const home = find(rs, VOLUME, "jenkins-ma-blue-home");
      rs.push({
        ...home,
        urn: "urn:pulumi:prod::jenkins-ha::jenkins-ha:coordination:CoordinationDatabase$docker:index/volume:Volume::coordination-data",
        name: "coordination-data",
        parent: "",
        protect: false,
        retainOnDelete: false,
        inputs: { name: "jenkins-ha-postgres-data" },
        redactedInputs: { name: "jenkins-ha-postgres-data" },
      });
    },
    policy: "protected-state-volumes",
    message: /volume 'jenkins-ha-postgres-data' holds state that cannot be rebuilt but lacks protect: true and retainOnDelete: true/,
  },
  {
    name: "Jenkins controller without a health check",
    config: prod,
    mutate: (rs) => delete inputs(rs, CONTAINER, "jenkins-tw-green").healthcheck,
    policy: "jenkins-health-and-restart",
    message: /Jenkins container 'jenkins-tw-green' has no health check; give it one that fetches \/login/,
  },
  {
    name: "Jenkins controller with restart policy 'no'",
    config: prod,
    mutate: (rs) => (inputs(rs, CONTAINER, "jenkins-ba-green").restart = "no"),
    policy: "jenkins-health-and-restart",
    message: /Jenkins container 'jenkins-ba-green' has restart policy 'no'; set restart: "unless-stopped"/,
  },
  {
    name: "duplicate port: two controllers publish 8081",
    config: prod,
    mutate: (rs) => (inputs(rs, CONTAINER, "jenkins-devops-blue").ports[0].external = 8081),
    policy: "port-isolation",
    message: /port 8081\/tcp on host 'docker-vm1' is used by both jenkins-devops-blue .* and jenkins-ma-blue|port 8081\/tcp on host 'docker-vm1' is used by both jenkins-ma-blue .* and jenkins-devops-blue/,
  },
  {
    name: "green not blue + 100",
    config: prod,
    mutate: (rs) => (inputs(rs, CONTAINER, "jenkins-tw-green").ports[1].external = 50203),
    policy: "port-isolation",
    message: /team 'tw': container port 50000 is published on 50003 for blue but 50203 for green; green must be blue \+ 100 \(50103\)/,
  },
  {
    name: "HAProxy stats on 0.0.0.0 without auth",
    config: configOnly((raw) => (section(raw, "platform").haproxy.statsBindAddress = "0.0.0.0")),
    mutate: (rs) => {
      const cmd = find(rs, "command:local:Command", "haproxy-config").inputs as Inputs;
      cmd.stdin = (cmd.stdin as string)
        .split("\n")
        .filter((l) => !/http-request auth/.test(l))
        .join("\n");
    },
    policy: "admin-surfaces-private",
    message: /HAProxy 'frontend stats' serves stats \/ metrics on 0.0.0.0:8405 without auth for every request; bind it to 127.0.0.1/,
  },
  {
    name: "HAProxy admin socket on TCP",
    config: prod,
    mutate: (rs) => {
      const cmd = find(rs, "command:local:Command", "haproxy-config").inputs as Inputs;
      cmd.stdin = (cmd.stdin as string).replace(/stats socket \S+/, "stats socket ipv4@0.0.0.0:9999");
    },
    policy: "admin-surfaces-private",
    message: /HAProxy's admin socket listens on TCP 0.0.0.0:9999 .* keep it a unix socket/,
  },
];

describe("unsafe changes are blocked by the right policy with the right message", () => {
  it("has a corpus of at least 15 unsafe changes", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(15);
  });

  it("has at least 15 unsafe stack configs (no registration edit), blocked by mandatory policies", () => {
    const configOnlyCases = CASES.filter((c) => c.mutate === undefined && c.level === undefined);
    expect(configOnlyCases.length).toBeGreaterThanOrEqual(15);
  });

  it("violates every policy at least once, from stack config alone wherever config can express it", () => {
    const all = policies.map((p) => p.name).sort();
    expect([...new Set(CASES.map((c) => c.policy))].sort()).toEqual(all);
    // What config cannot violate (docs/policy.md says why); all else has a pure-config case.
    const registrationOnly = [
      "jenkins-health-and-restart",
      "no-plaintext-secrets",
      "no-privileged-no-docker-socket",
      "one-image-per-team",
      "protected-state-volumes",
    ];
    expect([...new Set(CASES.filter((c) => c.mutate === undefined).map((c) => c.policy))].sort()).toEqual(all.filter((p) => !registrationOnly.includes(p)));
  });

  // The mutation cases all start from the committed prod stack: render it once.
  let prodRender: Awaited<ReturnType<typeof sharedRender>>;
  beforeAll(async () => {
    prodRender = await sharedRender(prodConfig());
  });
  afterAll(() => prodRender?.dispose());

  it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const config = c.config();
    const run = c.config === prod ? await prodRender.check(c.mutate) : await checkPolicies(config.raw, { previousOutputs: config.previousOutputs, mutate: c.mutate });
    const reported = c.level === "advisory" ? run.advisory : run.mandatory;
    const byPolicy = reported.filter((v) => v.policy === c.policy);
    expect(byPolicy.map((v) => v.message)).toEqual(expect.arrayContaining([expect.stringMatching(c.message)]));
    // Blocked (or warned) by the right policy, not by a side effect of the way the case is built.
    expect(summary(reported.filter((v) => v.policy !== c.policy))).toEqual([]);
    if (c.level === "advisory") expect(summary(run.mandatory)).toEqual([]);
  });
});
