/**
 * Crash-test hook: with `JENKINS_HA_BACKUP_TEST_PAUSE=<point>` the process announces
 * `jenkins-ha-test-paused:<point>` on stderr at that point and waits forever, so a test can
 * SIGKILL it exactly there (e.g. after a sync has staged, before anything is renamed).
 * Unset in production: a no-op.
 */
export async function testPause(point: string): Promise<void> {
  if (process.env.JENKINS_HA_BACKUP_TEST_PAUSE !== point) return;
  process.stderr.write(`jenkins-ha-test-paused:${point}\n`);
  await new Promise<void>(() => {
    setInterval(() => undefined, 60_000);
  });
}
