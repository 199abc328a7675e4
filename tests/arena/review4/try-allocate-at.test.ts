/**
 * Review 4, tryAllocateAt with an offset the bump pointer is not at.
 *
 * arena.ts tryAllocateAt reserves disk through the end of the requested range
 * (#reserveThrough(header, newEnd): fallocate from what this instance proved up
 * to offset + size + 1 MiB) BEFORE it looks at the bump pointer, so a call that
 * is refused (returns false: the pointer is elsewhere) has still taken disk for
 * everything between the used end and the offset asked for. docs/arena.md: "The
 * disk is reserved before the swap, so a refusal claims nothing". A stale or
 * adversarial offset near the end of a large sparse arena takes the capacity in
 * real disk (until the last close shrinks the file), or fills the disk for every
 * other file on it.
 */
import { expect, test } from "bun:test";
import { readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { smallDisk } from "../../support/small-disk.ts";
import { freshPath, tempDirectory } from "../../support/temp.ts";

const MiB = 2 ** 20;
const directory = tempDirectory("mfa-review4-tryallocateat-");

// Expected: a refused tryAllocateAt reserves nothing (the file keeps its few KiB
// of blocks). Observed: 1 GiB of blocks after one refused call (capacity 1 GiB,
// bump pointer at 32, offset capacity - 8).
test("a refused tryAllocateAt far past the bump pointer reserves no disk up to the offset asked for (review 4 #4)", () => {
  const path = freshPath(directory);
  using arena = MappedFileRegionArena.create(path, { capacity: 1024 * MiB });
  const blocksBefore = statSync(path).blocks * 512;
  expect(arena.tryAllocateAt(arena.capacity - 8, 8)).toBe(false);
  expect(arena.size).toBe(32);
  const blocksAfter = statSync(path).blocks * 512;
  expect(blocksAfter - blocksBefore).toBeLessThan(2 * MiB);
});

// On a 4 MiB tmpfs (we are root; the mount failing fails the test).
const disk = smallDisk("mfa-review4-tryallocateat-full-", 4);

// Expected: after a refused call, the arena (40 bytes used) has left the 4 MiB
// disk nearly empty, and another file of 1 MiB fits. Observed: the refused call
// took ~3.5 MiB of the disk, and the other file's write fails with ENOSPC.
test("a refused tryAllocateAt on a small disk leaves it free: another file's write then succeeds (review 4 #4)", () => {
  const mountPoint = disk.mountPoint();
  for (const name of readdirSync(mountPoint)) rmSync(join(mountPoint, name), { force: true, recursive: true });
  const path = join(mountPoint, "arena");
  using arena = MappedFileRegionArena.create(path, { capacity: 64 * MiB });
  arena.append(new Uint8Array(8));
  let refused: boolean | string;
  try {
    refused = arena.tryAllocateAt(3.5 * MiB, 8);
  } catch (error) {
    refused = (error as { code?: string }).code ?? String(error);
  }
  expect(refused).toBe(false);
  let otherWrite = "ok";
  try {
    writeFileSync(join(mountPoint, "other"), new Uint8Array(MiB));
  } catch (error) {
    otherWrite = (error as { code?: string }).code ?? String(error);
  }
  expect({ otherWrite, arenaBlocks: statSync(path).blocks * 512 <= 2 * MiB }).toEqual({ otherWrite: "ok", arenaBlocks: true });
});
