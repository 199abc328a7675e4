/**
 * Edges of the open / close protocol found in review, each a way to lose data or
 * crash that an earlier version had:
 *  - an opener with the wrong headerOffset took a live arena's user bytes for an
 *    unfinished creation and truncated it (now: only a header carrying the
 *    creation marker is redone, never one whose real header is elsewhere, and
 *    never while another process has the file open);
 *  - a creator killed between growing the file and writing its header left a
 *    file of zeros that every later open refused (now: the header is written
 *    first, in one pwrite);
 *  - close() inside onCreate closed the descriptors twice;
 *  - a view whose buffer was transferred away made close() throw half-way and
 *    skip the unmap;
 *  - an empty view at the very end of a multi-window arena threw;
 *  - LLVM's last close of an arena whose overflowing allocation died leaves a
 *    file longer than its capacity, which was refused.
 * Run against the version before these fixes, 7 of the 9 tests fail; the two
 * "created afresh" ones passed there too and guard the marker's format. The
 * kill between growing the file and writing the header is not reproduced here
 * (it needs a kill inside a window of a few system calls); it cannot recur, since
 * nothing is written before the header any more.
 */
import { describe, expect, test } from "bun:test";
import { closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from "node:fs";
import { MappedFileRegionArena, RecordLog } from "../../lib/index.ts";
import { creationMarker } from "../../lib/arena/header.ts";
import { inspectArenaFile } from "../../lib/cli/inspect.ts";
import { closeFile, lockFile, lockRange, openFile } from "../../lib/native/native.ts";
import { inodeLockByte } from "../../lib/arena/locks.ts";
import { expectArenaError } from "../support/expect.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory();
const MiB = 1024 * 1024;

function words(...values: bigint[]): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((value, index) => view.setBigUint64(index * 8, value, true));
  return bytes;
}

/** A file exactly as a creator killed right after its first pwrite leaves it. */
function writeInterruptedCreation(path: string, headerOffset: number): void {
  const fd = openSync(path, "w");
  writeSync(fd, words(BigInt(headerOffset + 32), creationMarker, 0n, BigInt(headerOffset)), 0, 32, headerOffset);
  closeSync(fd);
}

describe("an unfinished creation", () => {
  for (const headerOffset of [0, 64]) {
    test(`(headerOffset ${headerOffset}) is created afresh by the next opener`, () => {
      const path = freshPath(directory);
      writeInterruptedCreation(path, headerOffset);
      let created = 0;
      using arena = MappedFileRegionArena.create(path, { capacity: MiB, headerOffset, onCreate: () => void created++ });
      expect(created).toBe(1);
      expect(arena.size).toBe(headerOffset + 32);
      expect(arena.capacity).toBe(MiB);
    });
  }

  test("is left alone while another process has the file open", () => {
    const path = freshPath(directory);
    writeInterruptedCreation(path, 0);
    const before = readFileSync(path);
    // Another opener's "I have it open": a shared lock on PATH.shared.
    const other = openFile(`${path}.shared`, { create: true });
    lockFile(other, "shared", path);
    const error = expectArenaError(() => MappedFileRegionArena.create(path, { capacity: MiB }), "ERR_ARENA_CORRUPT");
    expect(error.message).toContain("other processes have it open");
    expect(readFileSync(path)).toEqual(before);
    closeFile(other, path);
    MappedFileRegionArena.create(path, { capacity: MiB }).close();
  });

  test("is left alone while a Bun opener under another name has the file mapped (issue 8 items 2 and 5)", () => {
    const path = freshPath(directory);
    writeInterruptedCreation(path, 0);
    const before = readFileSync(path);
    // That opener's "I have it mapped", whatever its name: the lock on the inode.
    const other = openFile(path, { create: false });
    expect(lockRange(other, "shared", inodeLockByte, path, true)).toBe("done");
    const error = expectArenaError(() => MappedFileRegionArena.create(path, { capacity: MiB }), "ERR_ARENA_CORRUPT");
    expect(error.message).toContain("other processes have it open");
    expect(readFileSync(path)).toEqual(before);
    closeFile(other, path);
    MappedFileRegionArena.create(path, { capacity: MiB }).close();
  });

  test("without the marker (an LLVM creator's, or anybody's bytes) is refused untouched", () => {
    const path = freshPath(directory);
    const foreign = words(64n, 7n, 0n, 0n, 11n, 22n, 33n, 44n);
    writeFileSync(path, foreign);
    expectArenaError(() => MappedFileRegionArena.create(path, { capacity: MiB }), "ERR_ARENA_CORRUPT");
    expect(new Uint8Array(readFileSync(path))).toEqual(foreign);
  });
});

test("a live arena is not taken over by an opener with the wrong headerOffset", () => {
  const path = freshPath(directory);
  // The caller's own header before the arena's: a root offset, then zeros. At
  // offset 0 these bytes read [64, 0, 0, 0], as a header of an unfinished creation.
  const arena = MappedFileRegionArena.create(path, {
    capacity: MiB,
    headerOffset: 64,
    onCreate: (fresh) => fresh.bytes(0, 8).set(words(64n)),
  });
  const record = arena.append(new Uint8Array(100).fill(5));
  const size = arena.size;
  const error = expectArenaError(() => MappedFileRegionArena.create(path, { capacity: MiB }), "ERR_ARENA_HEADER_MISMATCH");
  expect(error.message).toContain("at offset 64");
  expect(arena.size).toBe(size);
  expect(arena.bytes(record, 100).every((byte) => byte === 5)).toBe(true);
  arena.close();
  expect(statSync(path).size).toBe(size);
});

test("close() inside onCreate is refused, and the creation completes", () => {
  const path = freshPath(directory);
  using arena = MappedFileRegionArena.create(path, {
    capacity: MiB,
    onCreate(fresh) {
      expectArenaError(() => fresh.close(), "ERR_ARENA_CREATING");
      fresh.append(new Uint8Array([1, 2, 3]));
    },
  });
  expect(arena.closed).toBe(false);
  expect(arena.bytes(32, 3)).toEqual(new Uint8Array([1, 2, 3]));
});

test("a view whose buffer was transferred away does not stop close from detaching and unmapping the rest", () => {
  const path = freshPath(directory);
  const arena = MappedFileRegionArena.create(path, { capacity: MiB });
  const kept = arena.allocate(16);
  const header = arena.bytes(0, 32);
  const escaped = (arena.allocate(16).buffer as ArrayBuffer).transfer(); // takes the arena's window with it
  expect(escaped.byteLength).toBe(512 * 1024); // the view's window (lib/arena/mapping.ts), not the whole mapping
  expect(() => arena.close()).not.toThrow();
  expect(arena.closed).toBe(true);
  expect(kept.length).toBe(0); // a view over the window that moved: detached with it
  expect(header.length).toBe(0);
  expect(statSync(path).size).toBe(32 + 32); // the last close still shrank
});

test("an empty view at the end of a multi-window arena", () => {
  const capacity = 6 * 1024 * MiB; // windows at 0, 2 and 4 GiB; sparse, nothing reserved
  using arena = MappedFileRegionArena.create(freshPath(directory), { capacity });
  expect(arena.bytes(capacity, 0).length).toBe(0);
  expect(arena.bytes(capacity - 8, 8).length).toBe(8);
});

test("a file LLVM left longer than its capacity (overflow, then last close) opens as full", () => {
  const path = freshPath(directory);
  // bumpPtr 5000 > capacity 4096, and LLVM truncated the file to bumpPtr.
  const bytes = new Uint8Array(5000);
  bytes.set(words(5000n, 4096n, 4096n, 0n));
  writeFileSync(path, bytes);
  const arena = MappedFileRegionArena.create(path, { capacity: 4096 });
  expect(arena.capacity).toBe(4096);
  expect(arena.size).toBe(4096);
  expectArenaError(() => arena.allocateOffset(8), "ERR_ARENA_FULL");
  arena.close();
  expect(statSync(path).size).toBe(4096);
});

test("a header at 8 opened at 16 is reported at 8, by create and by inspect alike (issue 8 item 6)", () => {
  // The words read at 16 end with the first allocation's bytes, which used to be
  // taken for "the header is at offset 0".
  const path = freshPath(directory);
  const arena = MappedFileRegionArena.create(path, { capacity: MiB, headerOffset: 8 });
  arena.append(new Uint8Array(64));
  arena.close();
  const before = readFileSync(path);
  for (const wrong of [16, 0, 24]) {
    const error = expectArenaError(() => MappedFileRegionArena.create(path, { capacity: MiB, headerOffset: wrong }), "ERR_ARENA_HEADER_MISMATCH");
    expect(error.message).toContain(`has its header at offset 8, not at ${wrong}`);
    const inspected = expectArenaError(() => inspectArenaFile(path, { headerOffset: wrong, followHeader: false }), "ERR_ARENA_HEADER_MISMATCH");
    expect(inspected.message).toBe(error.message);
  }
  expect(readFileSync(path)).toEqual(before);
});

test("a record log opened as an arena at another offset is named as a record log, by create and by inspect alike", () => {
  const path = freshPath(directory);
  RecordLog.open(path, { capacity: MiB }).close();
  const before = readFileSync(path);
  for (const wrong of [0, 16]) {
    const error = expectArenaError(() => MappedFileRegionArena.create(path, { capacity: MiB, headerOffset: wrong }), "ERR_ARENA_HEADER_MISMATCH");
    expect(error.message).toBe(`${path} is a record log (RecordLog), with its arena header at offset 4064, not at ${wrong}`);
    const inspected = expectArenaError(() => inspectArenaFile(path, { headerOffset: wrong, followHeader: false }), "ERR_ARENA_HEADER_MISMATCH");
    expect(inspected.message).toBe(error.message);
  }
  expect(readFileSync(path)).toEqual(before);
});
