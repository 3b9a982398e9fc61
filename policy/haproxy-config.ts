/**
 * Reads what the policies need out of a rendered haproxy.cfg: the sections, their binds,
 * and the global admin socket. The config reaches the engine as the `stdin` of the
 * LoadBalancer's install command, so a policy sees exactly the file HAProxy will load.
 */
import { TYPES, splitHostPort } from "./resources";

export interface HaproxySection {
  /** `frontend stats`, `global`, ... */
  header: string;
  kind: string;
  lines: string[];
}

export function haproxySections(text: string): HaproxySection[] {
  const sections: HaproxySection[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, "").trimEnd();
    if (line.trim() === "") continue;
    if (!/^\s/.test(line)) {
      sections.push({ header: line.trim(), kind: line.trim().split(/\s+/)[0], lines: [] });
    } else if (sections.length > 0) {
      sections[sections.length - 1].lines.push(line.trim());
    }
  }
  return sections;
}

export interface HaproxyBind {
  section: string;
  host: string;
  port: number;
}

/** TCP binds of frontends / listen sections (unix sockets and abstract namespaces skipped). */
export function haproxyBinds(text: string): HaproxyBind[] {
  const binds: HaproxyBind[] = [];
  for (const s of haproxySections(text)) {
    if (s.kind !== "frontend" && s.kind !== "listen") continue;
    for (const line of s.lines) {
      const m = /^bind\s+(\S+)/.exec(line);
      if (!m) continue;
      for (const addr of m[1].split(",")) {
        const bare = addr.replace(/^(ipv4|ipv6|tcp|tcp4|tcp6)@/, "");
        if (/^(unix|abns|fd|sockpair)@/.test(bare) || bare.startsWith("/")) continue;
        const hp = splitHostPort(bare);
        if (hp) binds.push({ section: s.header, host: hp.host, port: hp.port });
      }
    }
  }
  return binds;
}

/** The LoadBalancer's config install command carries haproxy.cfg as its stdin. */
export function isHaproxyConfigCommand(type: string, urn: string): boolean {
  return (type === TYPES.localCommand || type === TYPES.remoteCommand) && urn.includes(`${TYPES.loadBalancer}$`);
}

