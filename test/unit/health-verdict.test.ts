import { judge } from "../../automation/health/verdict";

describe("health verdict from several sources", () => {
  const http = { ok: true, status: 200, latencyMs: 12 };

  it("is healthy when every source agrees", () => {
    const v = judge({ http, haproxy: { status: "UP" }, docker: { state: "running", health: "healthy" }, alerts: [] });
    expect(v).toEqual({ healthy: true, failing: [], evidence: ["http: /login 200 in 12 ms", "haproxy: server UP", "docker: container running, health healthy"] });
  });

  it("is unhealthy when any source reports a failure, naming it", () => {
    expect(judge({ http: { ok: false, status: 503, latencyMs: 3 } }).failing).toEqual(["http"]);
    expect(judge({ http, haproxy: { status: "DOWN" } }).failing).toEqual(["haproxy"]);
    expect(judge({ http, docker: { state: "exited" } }).failing).toEqual(["docker"]);
    expect(judge({ http, docker: { state: "running", health: "unhealthy" } }).failing).toEqual(["docker"]);
    expect(judge({ http, alerts: ["JenkinsDown"] }).evidence).toContain("alerts: firing: JenkinsDown");
  });

  it("never calls a colour healthy without a direct probe", () => {
    expect(judge({ haproxy: { status: "UP" } })).toMatchObject({ healthy: false, failing: ["http"] });
  });
});
