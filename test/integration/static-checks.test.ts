import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_DIR } from "../support/stacks";
import { requireTool } from "../support/tools";

/** Every tracked file below `dir` whose name matches. */
function filesMatching(dir: string, test: (name: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      if (["node_modules", ".git", "out", ".jenkins-ha"].includes(entry.name)) continue;
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (test(entry.name)) out.push(full);
    }
  };
  walk(dir);
  return out.sort();
}

function javaHome(): string {
  if (process.env.JAVA_HOME) return process.env.JAVA_HOME;
  const java = fs.realpathSync(requireTool("java"));
  return path.dirname(path.dirname(java));
}

describe("static checks with the real tools", () => {
  it("every shell script passes shellcheck", () => {
    const scripts = [path.join(PROJECT_DIR, ".ci", "run"), ...filesMatching(PROJECT_DIR, (n) => n.endsWith(".sh"))];
    expect(scripts.length).toBeGreaterThan(0);
    execFileSync(requireTool("shellcheck"), scripts, { encoding: "utf8" });
  });

  it("every Jenkinsfile, Job DSL and seed script compiles with groovyc", () => {
    const sources = filesMatching(path.join(PROJECT_DIR, "jenkins"), (n) => n.endsWith(".groovy") || n === "Jenkinsfile" || n.endsWith(".Jenkinsfile"));
    expect(sources.length).toBeGreaterThan(0);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-groovyc-"));
    try {
      for (const source of sources) {
        // groovyc wants a .groovy name; a Jenkinsfile is a Groovy script.
        const copy = path.join(out, `${path.basename(source).replace(/\W/g, "_")}_${sources.indexOf(source)}.groovy`);
        fs.copyFileSync(source, copy);
        try {
          execFileSync(requireTool("groovyc"), ["-d", path.join(out, "classes"), copy], {
            encoding: "utf8",
            env: { ...process.env, JAVA_HOME: javaHome() },
            stdio: ["ignore", "pipe", "pipe"],
          });
        } catch (err) {
          const e = err as { stdout?: string; stderr?: string };
          throw new Error(`groovyc rejected ${path.relative(PROJECT_DIR, source)}:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
        }
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
