import { execFileSync } from "child_process";
import * as net from "net";

/**
 * Path of a real tool the tests depend on. A missing tool is a failure, never a skip:
 * `.ci/run` installs every tool the suite needs.
 */
export function requireTool(name: string): string {
  try {
    return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(`required tool '${name}' is not installed; run .ci/run (it apt-get installs it)`);
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1 (bind to 0, read it, close). */
export async function freePort(): Promise<number> {
  // The kernel may hand the same ephemeral port out again once it is closed: never give a
  // port (or a pair's green twin) to two callers of this process, or a test's config can
  // end up with two of its ports equal.
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await boundPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no free port on 127.0.0.1 that this process has not handed out already");
}

const handedOut = new Set<number>();

function boundPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("could not read the bound port"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** Polls until `check` resolves truthy or the deadline passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 15000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
}

/** True if nothing listens on 127.0.0.1:port right now. */
export async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A free port p (<= 65435) whose green twin p + 100 is free too. */
export async function freePortPair(offset = 100): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port <= 65535 - offset && !handedOut.has(port + offset) && (await isPortFree(port + offset))) {
      handedOut.add(port + offset);
      return port;
    }
  }
  throw new Error("no free port pair (p, p+100) found on 127.0.0.1");
}
