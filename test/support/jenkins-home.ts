import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

/**
 * A synthetic JENKINS_HOME with the layout of a real one (not Jenkins' data, generated):
 * top-level XML, jobs (with builds/, workspace/, nextBuildNumber, and a folder with nested
 * jobs), secrets/ (master.key and other keys), plugins/ (.jpi files and unpacked dirs with
 * MANIFEST.MF, one disabled), users/, nodes/, userContent/, JCasC files, and bulk data in
 * builds/ and workspace/ as sparse files (apparent size without the disk or the time).
 *
 * It also returns, independently of the backup code, the files that are critical under
 * the default include/exclude rules: the tests' oracle.
 */

export interface JenkinsHomeOptions {
  jobs?: number;
  /** Size of each job's config.xml (real bytes). */
  jobConfigBytes?: number;
  buildsPerJob?: number;
  /** Real bytes of each build log (not critical). */
  buildLogBytes?: number;
  /** Total apparent size of the sparse bulk (build artifacts and workspaces), spread over files. */
  sparseBytes?: number;
  users?: number;
  nodes?: number;
  plugins?: number;
  userContentBytes?: number;
  jenkinsVersion?: string;
}

export interface GeneratedHome {
  home: string;
  /** Critical files (default rules): relative path -> content sha256. */
  critical: Map<string, string>;
  criticalBytes: number;
  masterKey: Buffer;
  plugins: { name: string; version: string; enabled: boolean }[];
  jenkinsVersion: string;
  /** Apparent size of everything written (sparse files at their full size). */
  apparentBytes: number;
}

export function generateJenkinsHome(home: string, options: JenkinsHomeOptions = {}): GeneratedHome {
  const o = {
    jobs: 12,
    jobConfigBytes: 4096,
    buildsPerJob: 3,
    buildLogBytes: 2048,
    sparseBytes: 0,
    users: 3,
    nodes: 2,
    plugins: 5,
    userContentBytes: 8192,
    jenkinsVersion: "2.440.3",
    ...options,
  };
  const critical = new Map<string, string>();
  const criticalSizes = new Map<string, number>();
  let apparentBytes = 0;
  const write = (rel: string, content: Buffer | string, isCritical: boolean, mode = 0o644) => {
    const file = path.join(home, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode);
    const size = Buffer.byteLength(content);
    apparentBytes += size;
    if (isCritical) {
      critical.set(rel, crypto.createHash("sha256").update(content).digest("hex"));
      criticalSizes.set(rel, size);
    }
  };
  const sparse = (rel: string, size: number) => {
    const file = path.join(home, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, "");
    fs.truncateSync(file, size);
    apparentBytes += size;
  };
  /** XML-ish text of exactly `size` bytes: compressible like real config, unique per file. */
  const xml = (root: string, size: number) => {
    const head = `<?xml version='1.1' encoding='UTF-8'?>\n<${root}>\n`;
    const tail = `</${root}>\n`;
    const room = Math.max(0, size - head.length - tail.length);
    const hex = crypto.randomBytes(Math.ceil(room / 2)).toString("hex");
    let body = "";
    for (let at = 0; body.length < room; at += 48) body += `  <p>${hex.slice(at % hex.length, (at % hex.length) + 48)}</p>\n`;
    return head + body.slice(0, room) + tail;
  };

  fs.mkdirSync(home, { recursive: true });
  write("config.xml", `<?xml version='1.1' encoding='UTF-8'?>\n<hudson>\n  <version>${o.jenkinsVersion}</version>\n  <numExecutors>0</numExecutors>\n  <useSecurity>true</useSecurity>\n</hudson>\n`, true);
  write("credentials.xml", xml("com.cloudbees.plugins.credentials.SystemCredentialsProvider", 2048), true);
  write("hudson.model.UpdateCenter.xml", xml("sites", 512), true);
  write("jenkins.install.InstallUtil.lastExecVersion", `${o.jenkinsVersion}\n`, false);
  write("identity.key.enc", crypto.randomBytes(1024), false);
  write("queue.xml.bak", "<queue/>\n", false);
  write("jenkins.yaml", "jenkins:\n  systemMessage: generated\n", true);
  write("casc_configs/jenkins.yaml", "jenkins:\n  numExecutors: 0\n", true);
  write("casc_configs/credentials.yaml", "credentials: {}\n", true);

  const masterKey = Buffer.from(crypto.randomBytes(128).toString("hex"));
  fs.mkdirSync(path.join(home, "secrets"), { recursive: true, mode: 0o700 });
  write("secrets/master.key", masterKey, false, 0o600);
  write("secrets/hudson.util.Secret", crypto.randomBytes(272), true, 0o600);
  write("secrets/jenkins.model.Jenkins.crumbSalt", crypto.randomBytes(32).toString("hex"), true, 0o600);
  write("secrets/org.jenkinsci.main.modules.instance_identity.InstanceIdentity.KEY", crypto.randomBytes(512), true, 0o600);
  write("secrets/filepath-filters.d/30-default.conf", "allow all\n", true);

  const jobNames = Array.from({ length: o.jobs }, (_, i) => `job-${String(i + 1).padStart(4, "0")}`);
  const bulkFiles: string[] = [];
  jobNames.forEach((job, i) => {
    // Every fourth job sits in a folder, as nested jobs do.
    const dir = i % 4 === 3 ? `jobs/folder-${i % 3}/jobs/${job}` : `jobs/${job}`;
    if (i % 4 === 3) write(`jobs/folder-${i % 3}/config.xml`, xml("com.cloudbees.hudson.plugins.folder.Folder", 600), true);
    write(`${dir}/config.xml`, xml("flow-definition", o.jobConfigBytes), true);
    write(`${dir}/nextBuildNumber`, `${o.buildsPerJob + 1}\n`, false);
    for (let b = 1; b <= o.buildsPerJob; b++) {
      write(`${dir}/builds/${b}/build.xml`, xml("build", 1024), false);
      write(`${dir}/builds/${b}/log`, crypto.randomBytes(Math.ceil(o.buildLogBytes / 2)).toString("hex").slice(0, o.buildLogBytes), false);
      // A config.xml inside builds/ (old Jenkins kept one) must still not count as a job definition.
      if (b === 1) write(`${dir}/builds/${b}/config.xml`, "<build-config/>\n", false);
    }
    write(`${dir}/workspace/README.md`, "checked-out sources\n", false);
    bulkFiles.push(`${dir}/builds/1/archive/artifact.bin`, `workspace/${job}/target/app.bin`);
  });
  write(`workspace/${jobNames[0]}/pom.xml`, "<project/>\n", false);
  if (o.sparseBytes > 0) {
    const per = Math.floor(o.sparseBytes / bulkFiles.length);
    for (const f of bulkFiles) sparse(f, per);
  }

  const plugins: GeneratedHome["plugins"] = [];
  for (let p = 0; p < o.plugins; p++) {
    const name = `plugin-${p}`;
    const version = `1.${p}.${p * 3}`;
    const enabled = p !== 1;
    plugins.push({ name, version, enabled });
    write(`plugins/${name}.jpi`, crypto.randomBytes(4096), false);
    write(`plugins/${name}/META-INF/MANIFEST.MF`, `Manifest-Version: 1.0\nShort-Name: ${name}\nPlugin-Version: ${version}\n`, false);
    write(`plugins/${name}/WEB-INF/lib/${name}.jar`, crypto.randomBytes(2048), false);
    if (!enabled) write(`plugins/${name}.jpi.disabled`, "", false);
  }

  write("users/users.xml", xml("hudson.model.UserIdMapper", 400), true);
  for (let u = 0; u < o.users; u++) write(`users/user${u}_${1000 + u}/config.xml`, xml("user", 900), true);
  for (let n = 0; n < o.nodes; n++) write(`nodes/agent-${n}/config.xml`, xml("slave", 700), true);
  write("userContent/readme.txt", crypto.randomBytes(Math.ceil(o.userContentBytes / 2)).toString("hex").slice(0, o.userContentBytes), true);
  write("userContent/css/site.css", "body { color: black }\n", true);
  write("logs/tasks/Download metadata.log", "done\n", false);
  write("fingerprints/ab/cd/abcd.xml", "<fingerprint/>\n", false);

  const criticalBytes = [...criticalSizes.values()].reduce((a, b) => a + b, 0);
  return { home, critical, criticalBytes, masterKey, plugins, jenkinsVersion: o.jenkinsVersion, apparentBytes };
}

/** Every regular file under `dir`: relative path -> sha256. */
export function treeDigest(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel === "" ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) walk(r);
      else if (d.isFile()) out.set(r, crypto.createHash("sha256").update(fs.readFileSync(path.join(dir, r))).digest("hex"));
    }
  };
  walk("");
  return out;
}
