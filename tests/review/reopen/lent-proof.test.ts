/**
 * Review of the fast reopen (issue 8): what an arena of this thread proved about
 * its file is lent to a later open of the same inode (lib/arena/live-files.ts).
 * A file can lose blocks below its bump pointer while keeping its inode (a hole
 * punched, a sparse copy written over it in place); an open made after that
 * must not inherit the earlier proof, or its write into the hole on a full disk
 * is SIGBUS. Runs on a small tmpfs (we are root), the arena in a child.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastJson, runBun, type Outcome } from "../../support/isolated-runs.ts";

const root = mkdtempSync(join(tmpdir(), "mfa-review-reopen-"));
const mountPoint = join(root, "tmpfs");
let mountError: string | undefined;

beforeAll(() => {
  mkdirSync(mountPoint);
  const result = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint]);
  if (result.exitCode !== 0) mountError = `cannot mount a tmpfs (need root): ${result.stderr.toString().trim()}`;
});

afterAll(() => {
  if (mountError === undefined) Bun.spawnSync(["umount", mountPoint]);
  rmSync(root, { recursive: true, force: true });
});

function freshDisk(): string {
  if (mountError !== undefined) throw new Error(mountError);
  for (const name of readdirSync(mountPoint)) rmSync(join(mountPoint, name), { force: true, recursive: true });
  return join(mountPoint, "held.arena");
}

function expectEnospcOrWritten(result: Outcome): void {
  expect({ signal: result.signalCode, exitCode: result.exitCode, stderr: result.stderr.slice(-400) }).toMatchObject({ signal: null, exitCode: 0 });
  const report = lastJson(result.stdout);
  if (report.error !== undefined) expect(report.error).toBe("ENOSPC");
  else expect(report.wrote).toBe(true);
}

const child = join(import.meta.dir, "children", "hole-while-held.ts");

test("review/reopen: a hole punched while an arena of this thread holds the file is found by the next open of it: a write into the hole on a full disk is ENOSPC or works, never SIGBUS", async () => {
  expectEnospcOrWritten(await runBun(child, [freshDisk(), "punch"]));
}, 60_000);

test("review/reopen: a sparse copy written over the held file in place (same inode) does not inherit the holder's proof: a write into its hole on a full disk is ENOSPC or works, never SIGBUS", async () => {
  expectEnospcOrWritten(await runBun(child, [freshDisk(), "copy"]));
}, 60_000);
