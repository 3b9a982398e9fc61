import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { loadPlatformModel } from "../../config/load";
import { renderHaproxyConfig } from "../../render/haproxy";
import { HaproxyProcess } from "../support/haproxy";
import { freePort, freePortPair, requireTool } from "../support/tools";

/**
 * The stats password reaches haproxy.cfg only as the `bcryptHash` of a @pulumi/random
 * RandomPassword (components/load-balancer.ts). That provider hashes with Go's
 * golang.org/x/crypto/bcrypt at its default cost: `$2a$10$<salt><hash>`. HAProxy checks a
 * userlist `password` with crypt(3); Debian builds it against libcrypt (libxcrypt), which
 * implements bcrypt. This test shows that the real haproxy accepts such a hash: 401 without
 * or with a wrong password, 200 with the right one.
 *
 * The hashes are made by crypt(3) through perl (perl-base is essential on Debian, so it is
 * always there), with a fresh random salt; the first case checks that this generator
 * reproduces the bcrypt test vector of Go's own library, i.e. it writes exactly what
 * @pulumi/random writes.
 */

const BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** crypt(3) of the system libcrypt, through perl. */
function crypt3(password: string, salt: string): string {
  const out = execFileSync(requireTool("perl"), ["-e", 'my $h = crypt($ARGV[0], $ARGV[1]); print defined $h ? $h : ""', password, salt], {
    encoding: "utf8",
  });
  if (!out.startsWith(salt.slice(0, 7))) throw new Error(`crypt(3) did not produce a bcrypt hash for salt ${salt}: '${out}'`);
  return out;
}

/** A bcrypt hash of `password` with a random 16-byte salt: `$<variant>$10$` + 53 characters. */
function bcryptHash(password: string, variant: "2a" | "2b"): string {
  // bcrypt's base64 is the standard bit packing with its own alphabet; 16 bytes -> 22 chars.
  const salt = [...crypto.randomBytes(16).toString("base64").slice(0, 22)].map((c) => BCRYPT_ALPHABET[BASE64_ALPHABET.indexOf(c)]).join("");
  return crypt3(password, `$${variant}$10$${salt}`);
}

/** What RandomPassword({ length: 24, special: false }) makes: 24 letters and digits. */
function randomPassword(): string {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return [...crypto.randomBytes(24)].map((b) => chars[b % chars.length]).join("");
}

function get(url: string, auth?: { user: string; password: string }): Promise<{ status: number; body: string }> {
  const headers: http.OutgoingHttpHeaders = auth ? { Authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString("base64")}` } : {};
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 10_000, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`timeout fetching ${url}`)));
    req.on("error", reject);
  });
}

it("the generator writes what Go's bcrypt (used by @pulumi/random) writes", () => {
  // golang.org/x/crypto/bcrypt, bcrypt_test.go TestBcryptingIsCorrect.
  expect(crypt3("allmine", "$2a$10$XajjQvNhvvRt5GSeFk1xFe")).toBe("$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga");
});

describe.each([
  // @pulumi/random's format, stats on loopback: /stats needs auth, /metrics is open for Prometheus.
  { variant: "2a" as const, statsBindAddress: "127.0.0.1", metricsNeedAuth: false },
  // The OpenBSD/libxcrypt default variant, stats on a non-loopback address: everything needs auth.
  { variant: "2b" as const, statsBindAddress: "127.0.0.2", metricsNeedAuth: true },
])("HAProxy stats auth with a $variant bcrypt hash, stats bound to $statsBindAddress (real haproxy)", ({ variant, statsBindAddress, metricsNeedAuth }) => {
  const password = randomPassword();
  const hash = bcryptHash(password, variant);
  let dir: string;
  let haproxy: HaproxyProcess;
  let base: string;
  let cfg: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-stats-auth-"));
    const statsPort = await freePort();
    const model = loadPlatformModel("stats-auth", {
      hosts: { local: "unix:///var/run/docker.sock" },
      platform: { haproxy: { host: "local", statsPort, statsBindAddress, runtimeDir: dir }, resourceOptimised: false },
      teams: { devops: { activeEnvironment: "blue", webPort: await freePortPair(), agentPort: await freePortPair(), publicPort: await freePort(), host: "local" } },
    });
    cfg = renderHaproxyConfig(model, { statsPasswordHash: hash, runtimeDir: dir });
    fs.writeFileSync(path.join(dir, "haproxy.cfg"), cfg);
    haproxy = await new HaproxyProcess(path.join(dir, "haproxy.cfg"), dir).start();
    base = `http://${statsBindAddress}:${statsPort}`;
  });

  afterAll(async () => {
    await haproxy?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("renders the hash into the userlist, and haproxy -c accepts the file", () => {
    expect(hash).toMatch(new RegExp(`^\\$${variant}\\$10\\$[./A-Za-z0-9]{53}$`));
    expect(cfg).toContain(`    user admin password ${hash}\n`);
    expect(cfg).not.toContain(password);
    const check = spawnSync(requireTool("haproxy"), ["-c", "-f", path.join(dir, "haproxy.cfg")], { encoding: "utf8" });
    expect(`${check.stdout}${check.stderr}`).toMatch(/Configuration file is valid/);
    expect(check.status).toBe(0);
    // haproxy -c does not try the hash (it accepts any string there); the requests below do.
  });

  it("answers /stats with 401 without credentials and with a wrong password", async () => {
    const anonymous = await get(`${base}/stats`);
    expect(anonymous.status).toBe(401);
    expect((await get(`${base}/stats`, { user: "admin", password: `${password}x` })).status).toBe(401);
    expect((await get(`${base}/stats`, { user: "admin", password: "" })).status).toBe(401);
    expect((await get(`${base}/stats`, { user: "root", password })).status).toBe(401);
  });

  it("answers /stats with 200 and the stats page for admin with the generated password", async () => {
    const res = await get(`${base}/stats`, { user: "admin", password });
    expect(res.status).toBe(200);
    expect(res.body).toContain("jenkins_devops");
  });

  it(`${metricsNeedAuth ? "requires" : "does not require"} the password for the Prometheus exporter`, async () => {
    expect((await get(`${base}/metrics`)).status).toBe(metricsNeedAuth ? 401 : 200);
    const authed = await get(`${base}/metrics`, { user: "admin", password });
    expect(authed.status).toBe(200);
    expect(authed.body).toContain('haproxy_backend_status{proxy="jenkins_devops"');
  });
});
