import { loadPlatformModel } from "../../config/load";
import { ConfigValidationError, formatProblem } from "../../config/problems";
import { validateStackConfig } from "../../config/validate";
import { clone, generatedConfig, stackConfig } from "../support/stacks";

type Raw = Record<string, any>; // test fixtures are edited freely, like YAML would be

const base = (): Raw => clone(stackConfig("prod"));

/** Each case: a change to the valid prod config, and the problem lines it must produce. */
const corpus: Array<{ name: string; mutate: (c: Raw) => void; expect: RegExp[] }> = [
  { name: "unknown team key (typo)", mutate: (c) => (c.teams.devops.webport = 9000), expect: [/^teams\.devops\.webport: unknown key — did you mean 'webPort'\?/] },
  { name: "unknown top-level key", mutate: (c) => (c.team = {}), expect: [/^team: unknown key — did you mean 'teams'\?/] },
  { name: "unknown platform key", mutate: (c) => (c.platform.resourceOptimized = true), expect: [/^platform\.resourceOptimized: unknown key — did you mean 'resourceOptimised'\?/] },
  { name: "unknown haproxy key", mutate: (c) => (c.platform.haproxy.statPort = 1), expect: [/^platform\.haproxy\.statPort: unknown key — did you mean 'statsPort'\?/] },
  { name: "team name with capitals", mutate: (c) => (c.teams.DevOps = c.teams.devops, delete c.teams.devops), expect: [/^teams\.DevOps: 'DevOps' is not a valid team name — use 2-31 characters/] },
  { name: "team name starting with a digit", mutate: (c) => ((c.teams["1ops"] = { ...c.teams.tw, webPort: 8090, agentPort: 50010, publicPort: 8010 })), expect: [/^teams\.1ops: '1ops' is not a valid team name/] },
  { name: "team name too long", mutate: (c) => ((c.teams["a".repeat(32)] = { ...c.teams.tw, webPort: 8090, agentPort: 50010, publicPort: 8010 })), expect: [/is not a valid team name/] },
  { name: "team name with underscore", mutate: (c) => ((c.teams.dev_ops = { ...c.teams.tw, webPort: 8090, agentPort: 50010, publicPort: 8010 })), expect: [/^teams\.dev_ops: 'dev_ops' is not a valid team name/] },
  { name: "unknown colour", mutate: (c) => (c.teams.ma.activeEnvironment = "purple"), expect: [/^teams\.ma\.activeEnvironment: unknown colour — use one of: blue, green$/] },
  { name: "missing colour", mutate: (c) => delete c.teams.ma.activeEnvironment, expect: [/^teams\.ma\.activeEnvironment: is required/] },
  { name: "web port above range", mutate: (c) => (c.teams.ma.webPort = 70000), expect: [/^teams\.ma\.webPort: 70000 is out of range — use a port between 1024 and 65435, so that green \(\+100\)/] },
  { name: "blue port whose green is out of range", mutate: (c) => (c.teams.ma.webPort = 65500), expect: [/^teams\.ma\.webPort: 65500 is out of range/] },
  { name: "privileged agent port", mutate: (c) => (c.teams.ma.agentPort = 80), expect: [/^teams\.ma\.agentPort: 80 is out of range/] },
  { name: "public port out of range", mutate: (c) => (c.teams.ba.publicPort = 0), expect: [/^teams\.ba\.publicPort: 0 is out of range — use a port between 1024 and 65535/] },
  { name: "port is a string", mutate: (c) => (c.teams.ba.webPort = "8082"), expect: [/^teams\.ba\.webPort: must be a number/] },
  { name: "port is fractional", mutate: (c) => (c.teams.ba.webPort = 8082.5), expect: [/^teams\.ba\.webPort: /] },
  { name: "two teams share a blue web port", mutate: (c) => (c.teams.ma.webPort = 8080), expect: [/^teams\.ma\.webPort: port 8080 \(ma blue webPort\) collides with devops blue webPort/] },
  { name: "green (+100) collides with another team's blue", mutate: (c) => (c.teams.ma.webPort = 8180 - 100 + 100), expect: [/port 8180 \(ma blue webPort\) collides with devops green webPort \(webPort \+ 100\)/] },
  { name: "agent port equals another team's green agent port", mutate: (c) => (c.teams.tw.agentPort = 50100), expect: [/^teams\.tw\.agentPort: port 50100 \(tw blue agentPort\) collides with devops green agentPort/] },
  { name: "web port equals own agent port", mutate: (c) => (c.teams.tw.agentPort = 8083), expect: [/port 8083 \(tw blue agentPort\) collides with tw blue webPort/] },
  { name: "public port collides with a team port", mutate: (c) => (c.teams.tw.publicPort = 8081), expect: [/^teams\.tw\.publicPort: port 8081 .* collides with ma blue webPort/] },
  { name: "HAProxy stats port collides with a team port", mutate: (c) => (c.platform.haproxy.statsPort = 8182), expect: [/^platform\.haproxy\.statsPort: port 8182 .* collides with ba green webPort/] },
  { name: "two teams share a public port", mutate: (c) => (c.teams.tw.publicPort = 8000), expect: [/^teams\.tw\.publicPort: port 8000 .*collides with devops HAProxy frontend/] },
  { name: "team on an unknown host", mutate: (c) => (c.teams.tw.host = "vm2"), expect: [/^teams\.tw\.host: unknown host 'vm2' — did you mean 'vm1'\?/] },
  { name: "HAProxy on an unknown host", mutate: (c) => (c.platform.haproxy.host = "lb"), expect: [/^platform\.haproxy\.host: unknown host 'lb'/] },
  { name: "host that is not a Docker URL", mutate: (c) => (c.hosts.vm1 = "vm1.example.com"), expect: [/^hosts\.vm1: 'vm1\.example\.com' is not a Docker host URL — use unix:\/\/\/var\/run\/docker\.sock, ssh:\/\/user@vm or tcp:\/\/vm:2376/] },
  { name: "host object with unknown key", mutate: (c) => (c.hosts.vm1 = { dockerHost: "unix:///var/run/docker.sock", adress: "10.0.0.1" }), expect: [/^hosts\.vm1\.adress: unknown key — did you mean 'address'\?/] },
  { name: "host of the wrong type", mutate: (c) => (c.hosts.vm1 = 42), expect: [/^hosts\.vm1: has the wrong shape — use a Docker host URL string/] },
  { name: "coordination DB port collides with a team port", mutate: (c) => (c.coordination = { port: 8081 }), expect: [/^coordination\.port: port 8081 \(coordination database \(coordination\.port\)\) collides with ma blue webPort/] },
  { name: "external coordination DB without its server", mutate: (c) => (c.coordination = { mode: "external" }), expect: [/^coordination\.external: mode 'external' needs the server to use — set coordination\.external\.address and adminPassword/] },
  { name: "coordination DB on an unknown host", mutate: (c) => (c.coordination = { host: "db1" }), expect: [/^coordination\.host: unknown host 'db1'/] },
  { name: "no teams", mutate: (c) => (c.teams = {}), expect: [/^teams: no teams are defined/] },
  { name: "missing platform", mutate: (c) => delete c.platform, expect: [/^platform: is required/] },
  { name: "resourceOptimised not a boolean", mutate: (c) => (c.platform.resourceOptimised = "yes"), expect: [/^platform\.resourceOptimised: must be a boolean/] },
  { name: "unknown agent kind", mutate: (c) => (c.teams.ma.agents = [{ kind: "gradle" }]), expect: [/^teams\.ma\.agents\[0\]\.kind: unknown value — use one of: maven, python, nodejs, dind/] },
  { name: "monitoring on another host than a loopback-only HAProxy exporter", mutate: (c) => ((c.hosts.vm2 = "ssh://ops@vm2"), (c.monitoring = { host: "vm2" })), expect: [/^monitoring\.host: Prometheus on 'vm2' cannot reach HAProxy's exporter, bound to 127\.0\.0\.1 on 'vm1'/] },
  { name: "logging on an unknown host", mutate: (c) => (c.logging = { host: "nowhere" }), expect: [/^logging\.host: unknown host 'nowhere'/] },
  { name: "switch steps above 100 %", mutate: (c) => (c.switch = { steps: [5, 150] }), expect: [/^switch\.steps\[1\]: is above the maximum 100/] },
];

describe("stack config validation", () => {
  it("accepts the committed prod and dev stacks", () => {
    expect(validateStackConfig(stackConfig("prod")).ok).toBe(true);
    expect(validateStackConfig(stackConfig("dev")).ok).toBe(true);
  });

  it("accepts a generated 100-team, 3-host config", () => {
    const result = validateStackConfig(generatedConfig(100, 3));
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
  });

  it("has a corpus of at least 25 malformed configs", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(25);
  });

  it.each(corpus)("rejects: $name", ({ mutate, expect: patterns }) => {
    const config = base();
    mutate(config);
    const result = validateStackConfig(config);
    expect(result.ok).toBe(false);
    const lines = result.ok ? [] : result.problems.map(formatProblem);
    for (const pattern of patterns) {
      expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(pattern)]));
    }
  });

  it("reports every problem at once, not just the first", () => {
    const config = base();
    config.teams.ma.activeEnvironment = "purple";
    config.teams.tw.host = "nowhere";
    config.teams.ba.webPort = 8080;
    config.platform.haproxy.statsPort = 70000;
    const result = validateStackConfig(config);
    expect(result.ok).toBe(false);
    const paths = result.ok ? [] : result.problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining(["teams.ma.activeEnvironment", "teams.tw.host", "teams.ba.webPort", "platform.haproxy.statsPort"]),
    );
  });

  it("throws one ConfigValidationError naming the stack and every problem", () => {
    const config = base();
    config.teams.ma.activeEnvironment = "purple";
    config.teams.tw.webPort = 8080;
    expect(() => loadPlatformModel("prod", config)).toThrow(ConfigValidationError);
    try {
      loadPlatformModel("prod", config);
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toMatch(/^stack config 'prod' has 2 problems; nothing was changed:/);
      expect(message).toContain("teams.ma.activeEnvironment: unknown colour");
      expect(message).toContain("teams.tw.webPort: port 8080");
    }
  });
});

describe("derived model", () => {
  it("puts green on blue + 100 for web and agent ports, with its own home volume", () => {
    const model = loadPlatformModel("prod", stackConfig("prod"));
    const devops = model.teams.find((t) => t.name === "devops")!;
    expect(devops.activeEnvironment).toBe("green");
    expect(devops.colours.blue).toMatchObject({ webPort: 8080, agentPort: 50000, role: "standby", homeVolumeName: "jenkins-devops-blue-home" });
    expect(devops.colours.green).toMatchObject({ webPort: 8180, agentPort: 50100, role: "active", homeVolumeName: "jenkins-devops-green-home" });
  });

  it("runs only the active colour in resource-optimised mode unless the standby is asked for", () => {
    const config = base();
    config.teams.ma.standbyRunning = true;
    const model = loadPlatformModel("prod", config);
    const running = Object.fromEntries(model.teams.map((t) => [t.name, [t.colours.blue.running, t.colours.green.running]]));
    expect(running).toEqual({ ba: [true, false], devops: [false, true], ma: [true, true], tw: [true, false] });
    const dev = loadPlatformModel("dev", stackConfig("dev"));
    expect([dev.teams[0].colours.blue.running, dev.teams[0].colours.green.running]).toEqual([true, true]);
  });

  it("derives host addresses from Docker URLs", () => {
    const config = generatedConfig(2, 2);
    const model = loadPlatformModel("x", config);
    expect(model.hosts.vm1.address).toBe("127.0.0.1");
    expect(model.hosts.vm2.address).toBe("vm2");
    expect(model.teams[1].colours.blue.url).toBe("http://vm2:20001");
  });
});
