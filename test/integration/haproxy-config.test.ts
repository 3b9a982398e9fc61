import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadPlatformModel } from "../../config/load";
import { renderHaproxyConfig } from "../../render/haproxy";
import { renderHaproxyInstallScript } from "../../render/haproxy-reload";
import { cryptHash, haproxyCheck } from "../support/haproxy";
import { renderConfig } from "../support/offline";
import { generatedConfig, stackConfig } from "../support/stacks";
import { requireTool } from "../support/tools";
import { execFileSync } from "child_process";

describe("rendered haproxy.cfg is accepted by the real haproxy", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-haproxy-c-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const check = (name: string, text: string) => {
    const file = path.join(dir, `${name}.cfg`);
    // The runtime dir must exist for `haproxy -c` to accept the admin socket path.
    fs.writeFileSync(file, text.replace(/\/var\/lib\/haproxy\/run/g, dir));
    const out = haproxyCheck(file);
    expect(out).toContain("Configuration file is valid");
    return out;
  };

  it("prod, as the real program renders it (offline run)", async () => {
    const result = await renderConfig("prod", stackConfig("prod"));
    const text = result.files["haproxy/haproxy.cfg"];
    for (const team of ["devops", "ma", "ba", "tw"]) expect(text).toContain(`backend jenkins_${team}\n`);
    check("prod", text);
  });

  it("a 20-team config on two hosts, with a real crypt hash", () => {
    const model = loadPlatformModel("twenty", generatedConfig(20, 2));
    const text = renderHaproxyConfig(model, { statsPasswordHash: cryptHash("s3cret") });
    expect(text.match(/^frontend jenkins_team_\d{3}_front$/gm)).toHaveLength(20);
    check("twenty", text);
  });

  it("declares standby colours as backup servers and the stats page behind auth", () => {
    const model = loadPlatformModel("prod", stackConfig("prod"));
    const text = renderHaproxyConfig(model, { statsPasswordHash: "$6$x$y" });
    expect(text).toContain("    server green 127.0.0.1:8180 check weight 100\n");
    expect(text).toContain("    server blue 127.0.0.1:8080 check weight 1 backup\n");
    expect(text).toMatch(/http-request auth realm haproxy-stats if \{ path_beg \/stats \} !stats_authed/);
    expect(text).toContain("bind 127.0.0.1:8405");
    expect(text).toContain("expose-fd listeners");
    expect(text).toContain("load-server-state-from-file global");
  });

  it("the install script passes shellcheck", () => {
    const file = path.join(dir, "install.sh");
    fs.writeFileSync(file, renderHaproxyInstallScript());
    execFileSync(requireTool("shellcheck"), [file], { encoding: "utf8" });
  });
});
