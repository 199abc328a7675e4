/**
 * The open-time proof of the reserved prefix asks the extent map first (FIEMAP,
 * lib/arena/disk-proof.ts) and SEEK_HOLE only when that cannot say. A wrong
 * "covered" answer from the extent map would let an opener hand out bytes over a
 * hole: SIGBUS on a full disk. So: reserved extents, written or unwritten, count;
 * a hole ends the run; a proof never claims past a hole. On a small ext4 loop
 * mount (root), since tmpfs has no FIEMAP and /tmp may be tmpfs.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { provenPrefixBytes } from "../../../lib/arena/disk-proof.ts";
import { closeFile, openFile, reserveDisk, reservedPrefixBytes, writeAt } from "../../../lib/native/native.ts";

const root = mkdtempSync(join(tmpdir(), "mfa-extents-"));
const mountPoint = join(root, "ext4");
let mountError: string | undefined;
const KiB = 1024;

beforeAll(() => {
  mkdirSync(mountPoint);
  const image = join(root, "ext4.img");
  for (const step of [
    ["truncate", "-s", "16M", image],
    ["mkfs.ext4", "-q", "-F", image],
    ["mount", "-o", "loop", image, mountPoint],
  ]) {
    const result = Bun.spawnSync(step);
    if (result.exitCode !== 0) {
      mountError = `${step.join(" ")} failed (need root and loop devices): ${result.stderr}`;
      break;
    }
  }
});

afterAll(() => {
  if (mountError === undefined) Bun.spawnSync(["umount", mountPoint]);
  rmSync(root, { recursive: true, force: true });
});

function withFile(name: string, body: (fd: number, path: string) => void): void {
  if (mountError !== undefined) throw new Error(mountError);
  const path = join(mountPoint, name);
  const fd = openFile(path, { create: true });
  try {
    body(fd, path);
  } finally {
    closeFile(fd, path);
  }
}

/** fsync through a descriptor of our own: the file's blocks get allocated. */
function syncToDisk(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

test("reserved but unwritten extents, and extents written through since, prove the prefix", () => {
  withFile("reserved.bin", (fd, path) => {
    expect(reserveDisk(fd, 0, 256 * KiB)).toBe(0);
    writeAt(fd, new Uint8Array(4 * KiB).fill(7), 0, path); // dirty, not written back
    expect(reservedPrefixBytes(fd, 256 * KiB)).toBeGreaterThanOrEqual(256 * KiB);
    expect(provenPrefixBytes(fd, path, 256 * KiB)).toBeGreaterThanOrEqual(256 * KiB);
  });
});

test("a hole ends the run: the extent map never claims past it, and the proof falls back to SEEK_HOLE", () => {
  withFile("holed.bin", (fd, path) => {
    writeAt(fd, new Uint8Array(4 * KiB).fill(1), 0, path);
    writeAt(fd, new Uint8Array(56 * KiB).fill(2), 8 * KiB, path); // a hole at [4 KiB, 8 KiB)
    syncToDisk(path); // allocated, not delayed: the extent map shows both runs
    expect(reservedPrefixBytes(fd, 64 * KiB)).toBe(4 * KiB);
    expect(provenPrefixBytes(fd, path, 64 * KiB)).toBe(4 * KiB);
  });
});

test("data not yet allocated (delayed allocation) proves nothing", () => {
  withFile("delayed.bin", (fd, path) => {
    writeAt(fd, new Uint8Array(64 * KiB).fill(3), 0, path);
    expect(reservedPrefixBytes(fd, 64 * KiB) ?? 0).toBeLessThan(64 * KiB);
  });
});
