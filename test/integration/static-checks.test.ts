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

  it("every `sh` step of every Jenkinsfile passes shellcheck, and a piped command cannot hide its failure", () => {
    // Jenkins runs an `sh` step with /bin/sh (dash on Debian agents, where `set -o pipefail`
    // is an error) unless the script starts with a #! line; and without pipefail,
    // `jenkins-ha ... | tee log` succeeds whatever jenkins-ha returned.
    const jenkinsfiles = filesMatching(path.join(PROJECT_DIR, "jenkins"), (n) => n === "Jenkinsfile" || n.endsWith(".Jenkinsfile"));
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-sh-steps-"));
    const problems: string[] = [];
    let steps = 0;
    try {
      for (const file of jenkinsfiles) {
        const text = fs.readFileSync(file, "utf8");
        // Triple- and single-quoted Groovy strings are literal: the step's script is exactly this text.
        const scripts = [...text.matchAll(/\bsh\s+'''([\s\S]*?)'''/g), ...text.matchAll(/\bsh\s+'(?!'')([^'\n]*)'/g)].map((m) => m[1]);
        for (const [i, script] of scripts.entries()) {
          steps++;
          const where = `${path.relative(PROJECT_DIR, file)} sh step ${i + 1}`;
          const shebang = /^#!(\S+)/.exec(script)?.[1];
          const shell = shebang ? path.basename(shebang) : "sh";
          if (/[^|]\|[^|]/.test(script) && !(shell === "bash" && /^\s*set -euo pipefail$/m.test(script))) {
            problems.push(`${where}: pipes a command but does not start with #!/bin/bash and 'set -euo pipefail'`);
          }
          const copy = path.join(out, `${path.basename(file)}-${i + 1}.sh`);
          fs.writeFileSync(copy, shebang ? script : `#!/bin/sh\n${script}`);
          try {
            execFileSync(requireTool("shellcheck"), [`--shell=${shell}`, copy], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
          } catch (err) {
            problems.push(`${where}:\n${(err as { stdout?: string }).stdout ?? String(err)}`);
          }
        }
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
    expect(steps).toBeGreaterThan(8);
    expect(problems).toEqual([]);
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
