/**
 * Issue 8 review, item 1: "the killed inside an overflowing allocation state
 * (bumpPtr a little past capacity) opens as full": judgeHeader reports it as
 * usedBytes = capacity, and protocol.ts's reserveHoles then fallocates the whole
 * capacity, though the file holds 1000 bytes. On a disk smaller than the
 * capacity the arena can never be opened again (ENOSPC); on ext4 the failed
 * fallocate is not undone, so the refused open also leaves the disk full for
 * every other process. Runs on a small tmpfs and a small ext4 loop mount (root).
 *
 * Broken variant caught ("reserve-overflowed-to-capacity", the old way): the open
 * is refused with ENOSPC.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { lastJson, runIsolatedChild } from "../../support/isolated-runs.ts";
import type { BrokenArenaVariant } from "../../../lib/arena/broken-variants.ts";

const root = mkdtempSync(join(tmpdir(), "mfa-issue8-overflow-"));
const mounts: Record<string, string> = { tmpfs: join(root, "tmpfs"), ext4: join(root, "ext4") };
const errors: Record<string, string> = {};
const MiB = 2 ** 20;

beforeAll(() => {
  mkdirSync(mounts.tmpfs!);
  mkdirSync(mounts.ext4!);
  const tmpfs = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mounts.tmpfs!]);
  if (tmpfs.exitCode !== 0) errors.tmpfs = `cannot mount tmpfs (need root): ${tmpfs.stderr}`;
  const image = join(root, "ext4.img");
  const steps = [
    ["truncate", "-s", "64M", image],
    ["mkfs.ext4", "-q", "-F", image],
    ["mount", "-o", "loop", image, mounts.ext4!],
  ];
  for (const step of steps) {
    const result = Bun.spawnSync(step);
    if (result.exitCode !== 0) {
      errors.ext4 = `${step.join(" ")} failed (need root and loop devices): ${result.stderr}`;
      break;
    }
  }
});

afterAll(() => {
  for (const [kind, mountPoint] of Object.entries(mounts)) if (errors[kind] === undefined) Bun.spawnSync(["umount", mountPoint]);
  rmSync(root, { recursive: true, force: true });
});

function freeBytes(directory: string): number {
  const stats = statfsSync(directory);
  return stats.bavail * stats.bsize;
}

for (const kind of ["tmpfs", "ext4"] as const) {
  test(`issue 8 review: an arena killed inside an overflowing allocation (${kind}) opens as full on a disk smaller than its capacity, taking no more than a few MiB`, async () => {
    if (errors[kind] !== undefined) throw new Error(errors[kind]);
    const directory = mounts[kind]!;
    const path = join(directory, "overflowed.arena");
    const capacity = 256 * MiB; // larger than the disk: sparse
    const { report, takenBytes } = await killThenOpen(path, capacity);
    // An arena holding 1000 bytes opens as full and takes no more than a few MiB more disk.
    expect(takenBytes).toBeLessThan(4 * MiB);
    expect(report).toEqual({ size: capacity });
  }, 60_000);
}

/** Kills an arena inside an overflowing allocation, then opens it: what the open printed, and the disk it took. */
async function killThenOpen(path: string, capacity: number, brokenVariant?: BrokenArenaVariant) {
  const killed = await runIsolatedChild("killed-mid-overflow.ts", ["kill", path, capacity]);
  expect(killed.signalCode).toBe("SIGKILL");
  const freeBefore = freeBytes(dirname(path));
  const opened = await runIsolatedChild("killed-mid-overflow.ts", ["open", path, capacity], undefined, brokenVariant);
  expect(opened.signalCode).toBeNull();
  return { report: lastJson(opened.stdout), takenBytes: freeBefore - freeBytes(dirname(path)) };
}

test("issue 8 review, control: reserving up to the capacity (broken variant) refuses the open on the small disk, and the check catches it", async () => {
  if (errors.tmpfs !== undefined) throw new Error(errors.tmpfs);
  for (const name of readdirSync(mounts.tmpfs!)) rmSync(join(mounts.tmpfs!, name), { force: true, recursive: true });
  const { report } = await killThenOpen(join(mounts.tmpfs!, "broken-overflowed.arena"), 256 * MiB, "reserve-overflowed-to-capacity");
  expect(report.error).toBe("ENOSPC");
}, 60_000);
