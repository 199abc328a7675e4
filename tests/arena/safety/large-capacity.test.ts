/**
 * Issue 3, point 3: capacities beyond 4 GiB. A 16 GiB sparse arena on the real
 * disk (os.tmpdir() is ext4 here, not tmpfs: reaching past 4 GiB through
 * allocate reserves that much disk with fallocate, which is fast on ext4 but would
 * be real memory on tmpfs). Windows are 4 GiB long and start every 2 GiB.
 *
 * Broken variants it would catch (reasoned, not run as patched variants): one toArrayBuffer over the whole mapping (RangeError at
 * open: toArrayBuffer refuses more than 4 GiB); windows that do not overlap (a
 * range straddling 4 GiB would need two buffers, and the straddling writes below
 * would come back wrong or throw); an offset computed modulo 2^32 (the pread of
 * the file at the true offset would not find the bytes); a view longer than a
 * window not being refused (bun crashes or throws from toArrayBuffer, not a
 * RangeError naming the argument).
 */
import { beforeAll, expect, test } from "bun:test";
import { closeSync, openSync, readSync, statfsSync, statSync } from "node:fs";
import { join } from "node:path";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { tempDirectory } from "../../support/temp.ts";

const GiB = 2 ** 30;
const capacity = 16 * GiB;
const dir = tempDirectory("mfa-large-");

beforeAll(() => {
  const stats = statfsSync(dir);
  const freeBytes = stats.bavail * stats.bsize;
  // allocate() past 4 GiB reserves ~4.5 GiB; refuse to run rather than fill the disk.
  if (freeBytes < 8 * GiB) throw new Error(`large-capacity test needs 8 GiB free in ${dir}, has ${(freeBytes / GiB).toFixed(1)} GiB`);
  if (stats.type === 0x01021994) throw new Error(`${dir} is tmpfs: the 16 GiB test must run on a real disk (set TMPDIR)`);
});

function preadFile(path: string, offset: number, length: number): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const out = new Uint8Array(length);
    expect(readSync(fd, out, 0, length, offset)).toBe(length);
    return out;
  } finally {
    closeSync(fd);
  }
}

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed + i * 13) & 0xff;
  return out;
}

test("a 16 GiB sparse arena reads and writes beyond 4 GiB and across window boundaries", () => {
  const path = join(dir, "big.arena");
  const arena = MappedFileRegionArena.create(path, { capacity });
  expect(arena.capacity).toBe(capacity);
  expect(statSync(path).size).toBe(capacity);
  expect(statSync(path).blocks * 512).toBeLessThan(16 * 1024 * 1024); // sparse

  // bytes() at any offset: ranges straddling every window start and the 4 GiB line.
  const straddles = [2 * GiB, 4 * GiB, 6 * GiB, 8 * GiB, 10 * GiB, 12 * GiB, 14 * GiB, 16 * GiB - 64];
  for (const [index, boundary] of straddles.entries()) {
    const data = pattern(4096, index);
    const offset = Math.min(boundary - 2048, capacity - 4096);
    arena.bytes(offset, data.length).set(data);
    // Read back through a different window: the part after the boundary alone.
    const tail = arena.bytes(offset + 2048, 2048);
    expect(tail).toEqual(data.subarray(2048));
    expect(preadFile(path, offset, data.length)).toEqual(data);
  }

  // The last byte of the capacity, through the last window.
  arena.bytes(capacity - 1, 1)[0] = 0xab;
  expect(preadFile(path, capacity - 1, 1)[0]).toBe(0xab);

  // allocate / append past 4 GiB: jump the bump pointer there (this reserves the
  // disk up to it: ~4 GiB of unwritten extents on ext4), then allocate across the
  // 4 GiB line, which is inside window 1 and at the start of window 2.
  const jump = arena.allocateOffset(4 * GiB - 4096 - arena.size);
  expect(jump).toBe(32);
  expect(arena.size).toBe(4 * GiB - 4096);
  const across = arena.allocate(8192); // [4 GiB - 4 KiB, 4 GiB + 4 KiB)
  expect(across.length).toBe(8192);
  across.set(pattern(8192, 77));
  const appended = arena.append(pattern(1000, 99));
  expect(appended).toBe(4 * GiB + 4096);
  expect(arena.bytes(4 * GiB - 4096, 8192)).toEqual(pattern(8192, 77));
  expect(preadFile(path, 4 * GiB - 4096, 8192)).toEqual(pattern(8192, 77));
  expect(preadFile(path, appended, 1000)).toEqual(pattern(1000, 99));
  expect(statSync(path).blocks * 512).toBeGreaterThanOrEqual(4 * GiB); // reserved before handed out

  // One view longer than a window is a RangeError naming the argument, and
  // allocate() refuses it before moving the bump pointer.
  const sizeBefore = arena.size;
  expect(() => arena.bytes(0, 2 * GiB + 8)).toThrow(RangeError);
  expect(() => arena.bytes(0, 2 * GiB + 8)).toThrow(/length .* longest single view/);
  expect(() => arena.allocate(2 * GiB + 8)).toThrow(RangeError);
  expect(() => arena.append(new Uint8Array(0))).not.toThrow();
  expect(arena.size).toBe(sizeBefore);
  // Exactly one window-stride long is fine, even straddling a window's end.
  expect(arena.bytes(3 * GiB, 2 * GiB).length).toBe(2 * GiB);

  const size = arena.size;
  arena.close();
  expect(statSync(path).size).toBe(size);

  // Reopen: the data past 4 GiB is still there, seen through a new mapping.
  const again = MappedFileRegionArena.create(path, { capacity: 1024 });
  expect(again.capacity).toBe(capacity);
  expect(again.bytes(appended, 1000)).toEqual(pattern(1000, 99));
  again.close();
}, 60_000);

test("a capacity of exactly 4 GiB is one buffer, usable to its last byte", () => {
  const path = join(dir, "four.arena");
  const arena = MappedFileRegionArena.create(path, { capacity: 4 * GiB });
  arena.bytes(4 * GiB - 8, 8).set(pattern(8, 5));
  expect(preadFile(path, 4 * GiB - 8, 8)).toEqual(pattern(8, 5));
  expect(arena.bytes(0, 4 * GiB).length).toBe(4 * GiB);
  arena.close();
}, 60_000);
