import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import YAML from "yaml";
import { PROJECT_DIR } from "../support/stacks";

const run = promisify(execFile);
const CLI = path.join(PROJECT_DIR, "bin", "jenkins-ha.js");

describe("jenkins-ha render (the CLI, as an engineer runs it)", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-render-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes every generated file, resources.json and outputs.json for prod", async () => {
    const out = path.join(dir, "prod");
    const { stdout } = await run("node", [CLI, "render", "--stack", "prod", "--out", out]);
    expect(stdout).toMatch(/rendered stack 'prod': 4 teams, \d+ resources/);
    for (const file of ["haproxy/haproxy.cfg", "haproxy/install-config.sh", "jenkins/devops/jenkins.yaml", "jenkins/tw/Dockerfile", "resources.json", "outputs.json"]) {
      expect(fs.existsSync(path.join(out, file))).toBe(true);
    }
    const resources = JSON.parse(fs.readFileSync(path.join(out, "resources.json"), "utf8")) as Array<{ type: string; name: string; inputs: unknown }>;
    expect(resources.some((r) => r.type === "docker:index/container:Container" && r.name === "jenkins-devops-green")).toBe(true);
    // Secrets never reach the disk.
    expect(fs.readFileSync(path.join(out, "resources.json"), "utf8")).not.toContain("offline-render-placeholder");
    const jcasc = YAML.parse(fs.readFileSync(path.join(out, "jenkins/devops/jenkins.yaml"), "utf8"));
    expect(jcasc.jenkins.clouds[0].docker.templates.map((t: { labelString: string }) => t.labelString)).toEqual([
      "devops-maven", "devops-python", "devops-nodejs", "devops-dind",
    ]);
  });

  it("exits non-zero with the whole validation report on bad config, writing nothing", async () => {
    const project = path.join(dir, "bad-project");
    fs.mkdirSync(project);
    fs.cpSync(path.join(PROJECT_DIR, "jenkins"), path.join(project, "jenkins"), { recursive: true });
    const stack = YAML.parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.prod.yaml"), "utf8"));
    stack.config["jenkins-ha:teams"].ma.webPort = 8080;
    stack.config["jenkins-ha:teams"].tw.activeEnvironment = "purple";
    fs.writeFileSync(path.join(project, "Pulumi.bad.yaml"), YAML.stringify(stack));
    const out = path.join(dir, "bad-out");
    const failure = await run("node", [CLI, "render", "--stack", "bad", "--out", out, "--project-dir", project]).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain("stack config 'bad' has 2 problems; nothing was changed");
    expect(failure?.stderr).toContain("teams.ma.webPort: port 8080");
    expect(failure?.stderr).toContain("teams.tw.activeEnvironment: unknown colour — use one of: blue, green");
    expect(failure?.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
    expect(fs.existsSync(out)).toBe(false);
  });
});
