/**
 * Opening and closing without touching the mapping (issue 8): an open validates
 * the header from the file and makes no buffer larger than the header's, and a
 * close of an instance that never used its header reads the size at close from
 * the file. What that must not change: `size` after close is the bump pointer as
 * it was at close, whoever moved it, and views made later still work.
 *
 * Broken variants caught: a close that reads nothing and keeps 0, or the size of
 * its own open (the first test: another instance allocated in between); a close
 * that reads the wrong word of the file (headerOffset 64 here).
 */
import { expect, test } from "bun:test";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("mfa-open-close-");
const options = { capacity: 1 << 20, headerOffset: 64 };

test("an instance that did nothing reports, after close, the size at close", () => {
  const path = freshPath(directory);
  using busy = MappedFileRegionArena.create(path, options);
  const idle = MappedFileRegionArena.create(path, options);
  busy.allocateOffset(100);
  busy.append(new Uint8Array(50));
  idle.close();
  expect(idle.size).toBe(busy.size);
  expect(idle.size).toBe(64 + 32 + 104 + 56);
});

test("an instance that allocated reports its size at close too, and a reopen sees the same", () => {
  const path = freshPath(directory);
  const arena = MappedFileRegionArena.create(path, options);
  const offset = arena.append(new TextEncoder().encode("kept"));
  arena.close();
  expect(arena.size).toBe(offset + 8);
  using again = MappedFileRegionArena.create(path, options);
  expect(again.size).toBe(arena.size);
  expect(new TextDecoder().decode(again.bytes(offset, 4))).toBe("kept");
});

test("views made long after the open read and write the mapping", () => {
  const path = freshPath(directory);
  using arena = MappedFileRegionArena.create(path, options);
  const offset = arena.allocateOffset(16);
  arena.bytes(offset, 16).fill(7);
  expect([...arena.bytes(offset, 16)]).toEqual(Array(16).fill(7));
  using other = MappedFileRegionArena.create(path, options);
  expect([...other.bytes(offset, 16)]).toEqual(Array(16).fill(7));
});
