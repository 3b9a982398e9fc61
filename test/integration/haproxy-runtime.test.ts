import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadPlatformModel } from "../../config/load";
import { PlatformModel } from "../../config/model";
import { renderHaproxyConfig } from "../../render/haproxy";
import { HaproxyProcess, cryptHash } from "../support/haproxy";
import { StandInJenkins, httpGet } from "../support/standin-jenkins";
import { freePort, freePortPair, waitFor } from "../support/tools";

/**
 * Real haproxy, master-worker, with the rendered config, in front of two stand-in Jenkins
 * backends on loopback.
 */
describe("HAProxy with the rendered config (real haproxy, stand-in backends)", () => {
  let dir: string;
  let haproxy: HaproxyProcess;
  let blue: StandInJenkins;
  let green: StandInJenkins;
  let publicUrl: string;
  let statsPort: number;
  let raw: Record<string, any>; // JSON config as it would be in Pulumi.<stack>.yaml
  const backend = "jenkins_devops";

  const render = (config: Record<string, unknown>): PlatformModel => loadPlatformModel("it", config);
  const writeConfig = (model: PlatformModel) =>
    fs.writeFileSync(path.join(dir, "haproxy.cfg"), renderHaproxyConfig(model, { statsPasswordHash: cryptHash("stats-pw"), runtimeDir: dir }));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-haproxy-"));
    const webPort = await freePortPair();
    const agentPort = await freePortPair();
    const publicPort = await freePort();
    statsPort = await freePort();
    raw = {
      hosts: { local: "unix:///var/run/docker.sock" },
      platform: { haproxy: { host: "local", statsPort, runtimeDir: dir, checkIntervalSeconds: 1 }, resourceOptimised: false },
      teams: { devops: { activeEnvironment: "blue", webPort, agentPort, publicPort, host: "local" } },
    };
    publicUrl = `http://127.0.0.1:${publicPort}`;
    blue = await new StandInJenkins("blue", webPort).start();
    green = await new StandInJenkins("green", webPort + 100).start();
    writeConfig(render(raw));
    haproxy = await new HaproxyProcess(path.join(dir, "haproxy.cfg"), dir).start();
  });

  afterAll(async () => {
    await haproxy?.stop();
    await blue?.stop();
    await green?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("sends traffic to the active colour with X-Jenkins-* headers", async () => {
    await waitFor("blue up in HAProxy", async () => (await haproxy.runtime.showStat()).some((r) => r.pxname === backend && r.svname === "blue" && r.status === "UP"));
    for (let i = 0; i < 10; i++) {
      const res = await httpGet(`${publicUrl}/job/build-${i}/`);
      expect(res.status).toBe(200);
      expect(res.body).toBe("blue\n");
      expect(res.headers["x-jenkins-team"]).toBe("devops");
      expect(res.headers["x-jenkins-environment"]).toBe("blue");
    }
    expect(blue.pageRequests).toBe(10);
    expect(green.pageRequests).toBe(0);
  });

  it("fails over to the backup colour when the active one dies, and back when it returns", async () => {
    await blue.stop();
    await waitFor("green serving", async () => (await httpGet(`${publicUrl}/`)).body === "green\n", 15000, 200);
    const res = await httpGet(`${publicUrl}/job/x`);
    expect(res.headers["x-jenkins-environment"]).toBe("green");
    await blue.start();
    await waitFor("blue serving again", async () => (await httpGet(`${publicUrl}/`)).body === "blue\n", 15000, 200);
  });

  it("protects the stats page with auth and serves the Prometheus exporter on loopback", async () => {
    expect((await httpGet(`http://127.0.0.1:${statsPort}/stats`)).status).toBe(401);
    const metrics = await httpGet(`http://127.0.0.1:${statsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain(`haproxy_server_status{proxy="${backend}",server="blue"`);
  });

  it("keeps a runtime weight across a seamless reload, and loses no request during it", async () => {
    // Stage a switch: the target becomes a normal server at weight 0, shifted at runtime.
    const staged = JSON.parse(JSON.stringify(raw));
    staged.teams.devops.switchRecord = {
      id: "sw-1", requestedBy: "test", reason: "test", from: "blue", to: "green",
      backupId: "b-1", backupVerifiedAt: new Date().toISOString(), requestedAt: new Date().toISOString(),
    };
    writeConfig(render(staged));
    await haproxy.reload();
    expect(await haproxy.runtime.getWeight(backend, "green")).toEqual({ current: 0, initial: 0 });

    await haproxy.runtime.setWeight(backend, "green", 25);
    await haproxy.runtime.setWeight(backend, "blue", 75);

    let failed = 0;
    let sent = 0;
    let loading = true;
    const load = (async () => {
      while (loading && sent < 2000) {
        sent++;
        try {
          if ((await httpGet(`${publicUrl}/`)).status !== 200) failed++;
        } catch {
          failed++;
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    await haproxy.reload(); // same config: weights come back from the server-state file
    await new Promise((r) => setTimeout(r, 300));
    loading = false;
    await load;

    expect(await haproxy.runtime.getWeight(backend, "green")).toEqual({ current: 25, initial: 0 });
    expect(await haproxy.runtime.getWeight(backend, "blue")).toEqual({ current: 75, initial: 100 });
    expect(sent).toBeGreaterThan(20);
    expect(failed).toBe(0);
  });

  it("starts from the new config when a reload changes phase (commit: green active, blue backup)", async () => {
    const committed = JSON.parse(JSON.stringify(raw));
    committed.teams.devops.activeEnvironment = "green";
    writeConfig(render(committed));
    await haproxy.reload();
    expect(await haproxy.runtime.getWeight(backend, "green")).toEqual({ current: 100, initial: 100 });
    expect(await haproxy.runtime.getWeight(backend, "blue")).toEqual({ current: 1, initial: 1 });
    await waitFor("green serving", async () => (await httpGet(`${publicUrl}/`)).body === "green\n", 10000, 200);
  });
});
