/**
 * Issue 3, point 4: a full disk is an error, not SIGBUS. Runs on a 4 MiB tmpfs
 * mounted for this file (we are root; if the mount fails every test fails with
 * the reason, it never skips). The arena work happens in child processes, so a
 * SIGBUS is a reported signal instead of the death of the test runner.
 *
 * Broken variant caught, built in: children/disk-full-child.ts "unreserved" writes
 * past the bump pointer without reserving disk, which is what an allocation
 * handed out without (or with too little, as LLVM's 1 MiB) preallocation amounts
 * to. The first test asserts it dies of SIGBUS: observed every run, which proves
 * this tmpfs really fills and that the append test would see the crash if
 * allocate stopped reserving. The create-on-full test caught a real SIGBUS in
 * lib/arena/protocol.ts (a new arena's header page was written unreserved); see the fix
 * there.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { stampByte } from "../../support/allocations.ts";
import { diedOf, runChild } from "../../support/processes.ts";
import { createTempDirectory, removeDirectory } from "../../support/temp.ts";

// Removed by hand, after the umount: tempDirectory's own cleanup could run first.
const root = createTempDirectory("mfa-disk-full-");
const mountPoint = join(root, "tmpfs");
const tmpfsBytes = 4 * 1024 * 1024;
const capacity = 64 * 1024 * 1024; // 16x the disk: the arena can outgrow it
let mountError: string | undefined;

beforeAll(() => {
  mkdirSync(mountPoint);
  const result = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${tmpfsBytes}`, "tmpfs", mountPoint]);
  if (result.exitCode !== 0) {
    mountError = `cannot mount a 4 MiB tmpfs at ${mountPoint} (exit ${result.exitCode}: ${result.stderr.toString().trim()}); ` +
      `the disk-full tests need root (or CAP_SYS_ADMIN) to run, and do not pass without it`;
  }
});

afterAll(() => {
  if (mountError === undefined) {
    const result = Bun.spawnSync(["umount", mountPoint]);
    if (result.exitCode !== 0) console.error(`umount ${mountPoint} failed: ${result.stderr.toString()}`);
  }
  removeDirectory(root);
});

/** Fails the test loudly when the tmpfs is not there; empties it when it is. */
function freshDisk(): string {
  if (mountError !== undefined) throw new Error(mountError);
  for (const name of readdirSync(mountPoint)) rmSync(join(mountPoint, name), { force: true, recursive: true });
  return join(mountPoint, "full.arena");
}

function lastJson(stdout: string): Record<string, any> {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!);
}

test("control: writing past the bump pointer without reserving dies of SIGBUS on the full tmpfs", async () => {
  const path = freshDisk();
  const result = await runChild("disk-full-child.ts", ["unreserved", path, capacity]);
  expect(result.stdout).toContain('"opened":true');
  expect(result.stdout).not.toContain("survived");
  expect(diedOf(result, "SIGBUS")).toBe(true);
}, 60_000);

test("appending until the disk is full ends in ArenaError ENOSPC, alive, data intact, clean close", async () => {
  const path = freshDisk();
  const result = await runChild("disk-full-child.ts", ["append", path, capacity]);
  expect(result.signalCode).toBeNull();
  expect(result.stderr).toBe("");
  expect(result.exitCode).toBe(0);
  const report = lastJson(result.stdout);
  expect(report.failure).toMatchObject({ name: "ArenaError", code: "ENOSPC", syscall: "fallocate" });
  expect(report.intact).toBe(true);
  // The disk held a good part of the 4 MiB before it was full.
  expect(report.offsets.length).toBeGreaterThan(16);
  expect(report.offsets.length).toBeLessThan(64);
  // The failed append gave its space back; a small one still fits in what was reserved.
  expect(typeof report.small).toBe("number");
  expect(report.small).toBe(report.sizeBeforeClose);
  // Never grew past the capacity, and the last close shrank the file to the size.
  expect(report.size).toBeLessThanOrEqual(capacity);
  expect(statSync(path).size).toBe(report.size);
  const file = new Uint8Array(readFileSync(path));
  for (const [sequence, offset] of (report.offsets as number[]).entries()) {
    for (let i = 0; i < 64 * 1024; i += 101) {
      if (file[offset + i] !== stampByte(1, sequence, i)) throw new Error(`chunk ${sequence} at ${offset} broken at ${i}`);
    }
  }
}, 60_000);

test("one allocation far larger than the 1 MiB increment is reserved to its end", async () => {
  // LLVM reserves only 1 MiB past the old reserved size: writing the rest of this
  // allocation on this nearly full disk would be SIGBUS (as the control test shows
  // for unreserved pages). Before the fallback in arena.ts this allocation was
  // refused with ENOSPC although it fits: observed.
  const path = freshDisk();
  const result = await runChild("disk-full-child.ts", ["big", path, capacity]);
  expect(result.signalCode).toBeNull();
  expect(result.exitCode).toBe(0);
  const report = lastJson(result.stdout);
  expect(report.ok).toBe(true);
  expect(report.second).toMatchObject({ name: "ArenaError", code: "ENOSPC" });
}, 60_000);

test("creating an arena on a file system with no space left is an error, not SIGBUS", async () => {
  const path = freshDisk();
  const result = await runChild("disk-full-child.ts", ["create-on-full", path, capacity]);
  expect(result.signalCode).toBeNull();
  expect(result.exitCode).toBe(0);
  const report = lastJson(result.stdout);
  expect(report.filled).toBeGreaterThan(tmpfsBytes / 2);
  expect(report.created).toBe(false);
  expect(report.error).toMatchObject({ name: "ArenaError", code: "ENOSPC" });
  // The failed creation leaves nothing half made: an empty file or none.
  if (existsSync(path)) expect(statSync(path).size).toBe(0);
}, 60_000);

for (const [mode, what] of [
  ["llvm-word", "an allocatedSize word that claims more than the blocks (LLVM's st_blksize * 512)"],
  ["sparse-copy", "a sparse copy (the word kept, the blocks not)"],
] as const) {
  test(`${what}: a full disk is ENOSPC, not SIGBUS (issue 8 item 3)`, async () => {
    // Before the fix the opener trusted the word: no disk was reserved for the
    // write, and the child died of SIGBUS (observed, both modes).
    const path = freshDisk();
    const result = await runChild("disk-full-child.ts", [mode, path, capacity]);
    expect(result.signalCode).toBeNull();
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    const report = lastJson(result.stdout);
    expect(report.filled).toBeGreaterThan(0);
    expect(report.written).toBe(false);
    expect(report.error).toMatchObject({ name: "ArenaError", code: "ENOSPC" });
  }, 60_000);
}

test("a block allocator serves what the arena serves when a whole block does not fit on the disk (issue 8 item 7)", async () => {
  // Before the fix it fell back to a direct allocation only on ERR_ARENA_FULL,
  // and refused with ENOSPC the 8 bytes the arena still had room for (observed).
  const path = freshDisk();
  const result = await runChild("disk-full-child.ts", ["block", path, capacity]);
  expect(result.signalCode).toBeNull();
  expect(result.stderr).toBe("");
  const report = lastJson(result.stdout);
  expect(report.small).toBe(32);
}, 60_000);
