import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Docker from "dockerode";
import { requireTool } from "./tools";

export const STANDIN_IMAGE = "jenkins-ha/standin-jenkins:test";

/** The real Docker engine on this machine (`.ci/run` starts dockerd). */
export function dockerClient(): Docker {
  return new Docker({ socketPath: "/var/run/docker.sock" });
}

/**
 * Builds, without pulling anything, a tiny stand-in Jenkins image (not Jenkins): busybox
 * httpd answering `/login` on 8080. It can be told to fail: `docker exec <c> rm /www/login`
 * (a restart heals it), or create `/state/broken` in its state volume (restarts do not).
 */
export function ensureStandInImage(): string {
  const docker = requireTool("docker");
  try {
    execFileSync(docker, ["image", "inspect", STANDIN_IMAGE], { stdio: "ignore" });
    return STANDIN_IMAGE;
  } catch {
    // not built yet
  }
  const busybox = fs.realpathSync(requireTool("busybox"));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "jenkins-ha-standin-rootfs-"));
  try {
    for (const dir of ["bin", "www", "state", "tmp"]) fs.mkdirSync(path.join(root, dir));
    fs.copyFileSync(busybox, path.join(root, "bin", "busybox"));
    fs.chmodSync(path.join(root, "bin", "busybox"), 0o755);
    for (const applet of ["sh", "httpd", "mkdir", "echo", "rm", "sleep", "test", "cat", "wget"]) {
      fs.symlinkSync("busybox", path.join(root, "bin", applet));
    }
    fs.writeFileSync(
      path.join(root, "entrypoint.sh"),
      "#!/bin/sh\n# stand-in Jenkins: /login answers 200 unless /state/broken exists\nmkdir -p /www\nif [ ! -f /state/broken ]; then echo ok > /www/login; fi\nexec httpd -f -p 8080 -h /www\n",
      { mode: 0o755 },
    );
    const tar = execFileSync("tar", ["-C", root, "-c", "."], { maxBuffer: 64 * 1024 * 1024 });
    execFileSync(docker, ["import", "-c", 'ENTRYPOINT ["/entrypoint.sh"]', "-c", "EXPOSE 8080", "-", STANDIN_IMAGE], { input: tar, stdio: ["pipe", "ignore", "inherit"] });
    return STANDIN_IMAGE;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
