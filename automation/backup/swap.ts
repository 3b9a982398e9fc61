import * as fs from "fs";
import * as path from "path";
import { testPause } from "./hooks";
import { fsyncDir, writeFileAtomic } from "./store";

/**
 * Replacing a JENKINS_HOME with a staged one, crash-safe. The new content is built in a
 * sibling dir (same file system, so renames are atomic); then a journal is written, the
 * old home is renamed aside and the staged dir renamed into place. Node has no atomic
 * exchange (renameat2 RENAME_EXCHANGE), so between the two renames the home is briefly
 * absent; the journal lets the next run finish that swap. A crash at any other point
 * leaves the home as it was (the staging dir is removed by the next run).
 *
 *   <home>.staging-<tag>           new content being built
 *   <home>.before-<kind>-<ts>      the old content, kept aside for the operator
 *   <home>.swap.json               {staged, aside} while a swap is under way
 */

interface SwapJournal {
  home: string;
  staged: string;
  aside: string;
}

export function journalFile(home: string): string {
  return `${home}.swap.json`;
}

export function stagingDirFor(home: string, tag: string): string {
  return `${home}.staging-${tag}`;
}

/**
 * Finishes or undoes what a killed run left behind (callers hold the team lock):
 * a complete staged swap whose home is missing is finished; otherwise staged dirs go.
 * Returns what it did, for the operator.
 */
export function recoverSwap(home: string): string | undefined {
  const file = journalFile(home);
  let note: string | undefined;
  if (fs.existsSync(file)) {
    const j = JSON.parse(fs.readFileSync(file, "utf8")) as SwapJournal;
    if (!fs.existsSync(home) && fs.existsSync(j.staged)) {
      fs.renameSync(j.staged, home);
      note = `finished an interrupted swap of ${home} (old content in ${j.aside})`;
    } else if (fs.existsSync(home) && !fs.existsSync(j.aside)) {
      note = `undid an interrupted swap of ${home} before it started (home untouched)`;
    }
    fs.rmSync(file, { force: true });
  }
  const parent = path.dirname(home);
  const prefix = `${path.basename(home)}.staging-`;
  for (const name of fs.existsSync(parent) ? fs.readdirSync(parent) : []) {
    if (name.startsWith(prefix)) fs.rmSync(path.join(parent, name), { recursive: true, force: true });
  }
  return note;
}

/** Swaps `staged` into `home`; the old home (if any) is renamed to the returned aside path. */
export async function swapIntoPlace(home: string, staged: string, kind: "restore" | "sync", at: Date): Promise<string | undefined> {
  const stamp = at.toISOString().replace(/[:.]/g, "-");
  const aside = `${home}.before-${kind}-${stamp}`;
  const hadHome = fs.existsSync(home);
  writeFileAtomic(journalFile(home), JSON.stringify({ home, staged, aside } satisfies SwapJournal));
  if (hadHome) fs.renameSync(home, aside);
  await testPause(`${kind}:swapping`);
  fs.renameSync(staged, home);
  fsyncDir(path.dirname(home));
  fs.rmSync(journalFile(home), { force: true });
  return hadHome ? aside : undefined;
}
