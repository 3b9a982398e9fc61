/**
 * Render + policy evaluation time for 4, 25 and 100 teams: the offline policy check
 * (`jenkins-ha render --policy`) as a pre-commit / CI step must stay fast as the platform
 * grows. Ends with one machine-readable line:
 *
 *   policy: teams=100 seconds=<s> teams4_seconds=<t>
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { evaluatePolicies } from "../automation/offline/policy";
import { renderStackOffline } from "../automation/offline/render";
import { PROJECT_DIR, generatedConfig } from "../test/support/stacks";

async function measure(teams: number): Promise<{ render: number; policy: number; violations: number; resources: number }> {
  const buildDir = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-bench-policy-"));
  try {
    const t0 = performance.now();
    // Hosts grow with teams (25 per host), as the platform would.
    const raw = generatedConfig(teams, Math.max(1, Math.ceil(teams / 25)));
    const result = await renderStackOffline({ projectDir: PROJECT_DIR, stack: "bench", rawConfig: raw, buildDir });
    const t1 = performance.now();
    const violations = await evaluatePolicies(result.resources);
    const t2 = performance.now();
    return { render: (t1 - t0) / 1000, policy: (t2 - t1) / 1000, violations: violations.filter((v) => v.enforcementLevel === "mandatory").length, resources: result.resources.length };
  } finally {
    fs.rmSync(buildDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const totals: Record<number, number> = {};
  for (const teams of [4, 25, 100]) {
    const m = await measure(teams);
    totals[teams] = m.render + m.policy;
    process.stdout.write(
      `teams=${teams} resources=${m.resources} render_s=${m.render.toFixed(2)} policy_s=${m.policy.toFixed(3)} total_s=${totals[teams].toFixed(2)} mandatory_violations=${m.violations}\n`,
    );
    if (m.violations > 0) throw new Error(`the generated ${teams}-team config violates the policy pack; the benchmark measures a passing stack`);
  }
  process.stdout.write(`policy: teams=100 seconds=${totals[100].toFixed(2)} teams4_seconds=${totals[4].toFixed(2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
