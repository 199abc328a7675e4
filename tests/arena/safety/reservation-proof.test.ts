/**
 * Issue 8 review, item 3 ("the local reserved figure never exceeds what
 * st_blocks proves"): st_blocks is a count of blocks anywhere in the file, not a
 * proof that the prefix [0, N) is reserved (SEEK_HOLE is); and the shared word
 * may be rewritten by anyone while the arena is open, so each instance
 * allocates from the figure it proved itself. Runs on a small tmpfs (we are root),
 * the arena in a child, so a SIGBUS is a reported signal.
 *
 * Broken variants caught: "blocks-count-as-proof" (st_blocks * 512 taken as a
 * reserved prefix), "trust-allocated-size" (the shared word taken as reserved
 * disk) and "lent-proof" (an open beside an arena of this thread that holds the
 * file takes its used prefix as proven): the child dies of SIGBUS.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastJson, runIsolatedChild, type Outcome } from "../../support/isolated-runs.ts";
import type { BrokenArenaVariant } from "../../../lib/arena/broken-variants.ts";

const root = mkdtempSync(join(tmpdir(), "mfa-issue8-full-"));
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
  return join(mountPoint, "holes.arena");
}

/** The tests' check: the child ended by itself, and either refused with ENOSPC or wrote. */
function expectEnospcOrWritten(result: Outcome): void {
  expect({ signal: result.signalCode, exitCode: result.exitCode }).toEqual({ signal: null, exitCode: 0 });
  const report = lastJson(result.stdout);
  // Either the open refuses (ENOSPC reserving the holes) or the write works: never a signal.
  if (report.error !== undefined) expect(report.error).toBe("ENOSPC");
  else expect(report.wrote).toBe(true);
}

/** A control: the same child with a broken variant dies of SIGBUS, which the check does not let through. */
function expectCaught(result: Outcome): void {
  expect(result.signalCode).toBe("SIGBUS");
  expect(() => expectEnospcOrWritten(result)).toThrow();
}

for (const what of ["new", "old"] as const) {
  test(`issue 8 review: holes below bumpPtr are found by SEEK_HOLE even when blocks past it make st_blocks large: a write into ${what === "new" ? "a new" : "an old"} allocation on a full disk is ENOSPC or works, never SIGBUS`, async () => {
    expectEnospcOrWritten(await runIsolatedChild("blocks-not-a-prefix.ts", [freshDisk(), what]));
  }, 60_000);

  test(`issue 8 review, control: with st_blocks taken as the proof (broken variant), a write into ${what === "new" ? "a new" : "an old"} allocation is SIGBUS, and the check catches it`, async () => {
    expectCaught(await runIsolatedChild("blocks-not-a-prefix.ts", [freshDisk(), what], undefined, "blocks-count-as-proof"));
  }, 60_000);
}

/** Each child with the test of the real thing and the broken variant its control runs against. */
const guarded: { child: string; args: string[]; test: string; variant: BrokenArenaVariant; control: string }[] = [
  {
    child: "word-raised-while-open.ts",
    args: [],
    test: "issue 8 review: allocatedSize raised by another opener while open (LLVM stores st_blksize * 512) is not trusted: a write on a full disk is ENOSPC or works, never SIGBUS",
    variant: "trust-allocated-size",
    control: "issue 8 review, control: with the raised word trusted (broken variant), the write is SIGBUS, and the check catches it",
  },
  ...(["punch", "copy"] as const).map((how) => ({
    child: "hole-while-held.ts",
    args: [how],
    test: `review of the fast reopen: a hole ${how === "punch" ? "punched into" : "left by a sparse copy written in place over"} a file an arena of this thread holds is found by the next open of it (no proof is lent, live-files.ts): a write into the hole on a full disk is ENOSPC or works, never SIGBUS`,
    variant: "lent-proof" as const,
    control: `review of the fast reopen, control (${how}): with the holder's proof lent to the next open (broken variant), the write into the hole is SIGBUS, and the check catches it`,
  })),
];

for (const { child, args, test: name, variant, control } of guarded) {
  test(name, async () => {
    expectEnospcOrWritten(await runIsolatedChild(child, [freshDisk(), ...args]));
  }, 60_000);

  test(control, async () => {
    expectCaught(await runIsolatedChild(child, [freshDisk(), ...args], undefined, variant));
  }, 60_000);
}
