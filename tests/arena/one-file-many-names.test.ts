/**
 * Issue 8 item 2: one file under several names. PATH.shared is per name, so a
 * symlink, a hard link, a bind mount of the file or a PATH.shared deleted while
 * the arena is open gives two openers two lock files, and the last closer under one name used to shrink the
 * file under a process that mapped it through the other: that process died of
 * SIGBUS on its next write. Now every opener also holds a lock on the file itself
 * (lib/arena/locks.ts), and no Bun closer shrinks while another opener holds it.
 *
 * The victim is always a child process, so a SIGBUS is a reported signal. The
 * broken variant, built in: the same close done by the C peer that speaks only
 * LLVM's protocol (PATH.shared, no inode lock) kills the victim with SIGBUS in
 * every case below, which is also LLVM's remaining hole (docs/guarantees.md, Limits).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { linkSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { inspectArenaFile } from "../../lib/cli/inspect.ts";
import { compileLlvmPeer, runLlvmPeer } from "../support/llvm-peer.ts";
import { diedOf, lineReader, spawnChild } from "../support/processes.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("mfa-names-");
const capacity = 16 * 1024 * 1024;
let peer: string;

beforeAll(() => {
  peer = compileLlvmPeer(directory);
});

type Closer = "bun" | "llvm-protocol";

/** Undone at the end of each test, before the folder is removed. */
const mounts: string[] = [];
function unmountAll(): void {
  for (const mountPoint of mounts.splice(0)) Bun.spawnSync(["umount", mountPoint]);
}

/** Another name for `path`, made the way `kind` says; returns the name the closer uses. */
function otherName(path: string, kind: string): string {
  if (kind === "bind mount") {
    // The file itself mounted at a second path (needs root, as the disk-full tests
    // do). Not its folder: then PATH.shared would be one file under both names.
    const mountPoint = `${path}.bound`;
    writeFileSync(mountPoint, "");
    const result = Bun.spawnSync(["mount", "--bind", path, mountPoint]);
    if (result.exitCode !== 0) throw new Error(`mount --bind needs root: ${result.stderr.toString().trim()}`);
    mounts.push(mountPoint);
    return mountPoint;
  }
  if (kind === "symlink") {
    symlinkSync(path, `${path}.link`);
    return `${path}.link`;
  }
  if (kind === "hard link") {
    linkSync(path, `${path}.hard`);
    return `${path}.hard`;
  }
  return path; // "deleted PATH.shared": the same name, after its lock file is gone
}

/** How the victim opens: once; or twice in one thread, the first closed (its inode lock handed on, or, broken, not). */
type VictimMode = "once" | "handed-on" | "handed-on-broken";

async function closeUnderAnotherName(kind: string, closer: Closer, mode: VictimMode = "once") {
  const path = freshPath(directory);
  const victim = spawnChild("mapped-victim.ts", mode === "once" ? [path, capacity] : [path, capacity, mode]);
  try {
    const lines = lineReader(victim.stdout);
    await lines.waitFor((line) => line === "open");
    try {
      const name = otherName(path, kind);
      if (kind === "deleted PATH.shared") unlinkSync(`${path}.shared`);
      if (closer === "bun") {
        // inspect sees the victim under the other name too: it tests the inode lock
        // (which, in the broken variant, nobody holds any more).
        if (mode !== "handed-on-broken") expect(inspectArenaFile(name).openState).toBe("open");
        MappedFileRegionArena.create(name, { capacity }).close();
      } else {
        const result = await runLlvmPeer(peer, name, capacity);
        expect(result).toEqual({ exitCode: 0, stderr: "" });
      }
    } finally {
      unmountAll();
    }
    const sizeAfterOtherClose = statSync(path).size;
    victim.stdin.write("go\n");
    victim.stdin.end();
    const survived = await lines.waitFor((line) => line === "survived").then(() => true, () => false);
    await victim.exited;
    const stderr = await new Response(victim.stderr).text();
    return { path, sizeAfterOtherClose, result: { survived, exitCode: victim.exitCode, signalCode: victim.signalCode, stderr } };
  } finally {
    if (victim.exitCode === null && victim.signalCode === null) victim.kill("SIGKILL");
  }
}

for (const kind of ["symlink", "hard link", "bind mount", "deleted PATH.shared"]) {
  describe(`one file, two names (${kind})`, () => {
    test("a Bun opener's close under the other name does not shrink the file under the victim (issue 8 item 2)", async () => {
      const { path, sizeAfterOtherClose, result } = await closeUnderAnotherName(kind, "bun");
      expectVictimUnharmed(path, sizeAfterOtherClose, result);
    }, 60_000);

    test("the same when the victim's thread opened the arena twice and closed the instance that held its inode lock (handed on)", async () => {
      const { path, sizeAfterOtherClose, result } = await closeUnderAnotherName(kind, "bun", "handed-on");
      expectVictimUnharmed(path, sizeAfterOtherClose, result);
    }, 60_000);

    test("broken variant: an inode lock not handed on leaves the victim's second instance unprotected, and it dies of SIGBUS", async () => {
      const { sizeAfterOtherClose, result } = await closeUnderAnotherName(kind, "bun", "handed-on-broken");
      expect(sizeAfterOtherClose).toBeLessThan(capacity);
      expect(diedOf({ ...result, stdout: "" }, "SIGBUS")).toBe(true);
      expect(result.survived).toBe(false);
    }, 60_000);

    function expectVictimUnharmed(path: string, sizeAfterOtherClose: number, result: Awaited<ReturnType<typeof closeUnderAnotherName>>["result"]): void {
      expect(sizeAfterOtherClose).toBe(capacity);
      expect(result.signalCode).toBeNull();
      expect(result.stderr).toBe("");
      expect(result.survived).toBe(true);
      expect(result.exitCode).toBe(0);
      // The victim was the last one out: it shrank the file to what was used.
      expect(statSync(path).size).toBe(32 + 8192 + 8 * 64 * 1024);
    }

    test("broken variant: a closer without the inode lock (LLVM's protocol) shrinks it, and the victim dies of SIGBUS", async () => {
      const { sizeAfterOtherClose, result } = await closeUnderAnotherName(kind, "llvm-protocol");
      expect(sizeAfterOtherClose).toBeLessThan(capacity);
      expect(diedOf({ ...result, stdout: "" }, "SIGBUS")).toBe(true);
      expect(result.survived).toBe(false);
    }, 60_000);
  });
}
