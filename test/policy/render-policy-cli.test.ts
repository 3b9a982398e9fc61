import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { PROJECT_DIR } from "../support/stacks";

const run = promisify(execFile);
const CLI = path.join(PROJECT_DIR, "bin", "jenkins-ha.js");

describe("jenkins-ha render --policy (the offline pre-commit / CI check)", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-policy-cli-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("passes prod as committed, then refuses the same config against a deployment where devops was blue", async () => {
    const out = path.join(dir, "prod");
    const ok = await run("node", [CLI, "render", "--stack", "prod", "--out", out, "--policy"]);
    expect(ok.stdout).toContain("policy pack: no mandatory violations, 0 advisory, in stack 'prod'");

    // The render's own outputs.json is what a deployment of it would leave behind.
    const outputs = JSON.parse(fs.readFileSync(path.join(out, "outputs.json"), "utf8"));
    expect(outputs.teams.devops.activeEnvironment).toBe("green");
    outputs.teams.devops.activeEnvironment = "blue";
    const previous = path.join(dir, "previous-outputs.json");
    fs.writeFileSync(previous, JSON.stringify(outputs));

    const failure = await run("node", [CLI, "render", "--stack", "prod", "--out", path.join(dir, "switch"), "--policy", "--previous-outputs", previous]).then(
      () => undefined,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failure?.code).toBe(3);
    expect(failure?.stdout).toContain(
      "policy violation: [mandatory] switch-record  jenkins-ha:jenkins:JenkinsTeam jenkins-devops: team 'devops' switches blue -> green without a switch record; run 'jenkins-ha switch --team devops --to green'",
    );
    expect(failure?.stderr).toContain("policy pack: 1 mandatory violation(s), 0 advisory, in stack 'prod'");
    expect(failure?.stderr).not.toMatch(/\n\s+at /);
  });

  it("prints advisory violations as warnings and still exits 0", async () => {
    const project = path.join(dir, "project");
    fs.mkdirSync(project);
    fs.cpSync(path.join(PROJECT_DIR, "jenkins"), path.join(project, "jenkins"), { recursive: true });
    const stack = fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.dev.yaml"), "utf8").replace("      host: local\n    resourceOptimised", "      host: local\n      image: haproxy:latest\n    resourceOptimised");
    expect(stack).toContain("image: haproxy:latest");
    fs.writeFileSync(path.join(project, "Pulumi.dev.yaml"), stack);
    const { stdout } = await run("node", [CLI, "render", "--stack", "dev", "--out", path.join(dir, "dev"), "--project-dir", project, "--policy"]);
    expect(stdout).toContain("warning: [advisory] image-tags-pinned  docker:index/remoteImage:RemoteImage haproxy-image: 'haproxy-image' uses image 'haproxy:latest'");
    expect(stdout).toContain("policy pack: no mandatory violations, 1 advisory, in stack 'dev'");
  });
});
