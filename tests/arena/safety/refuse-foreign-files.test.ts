/**
 * Issue 3, point 5: refuse, don't repair, what is not ours. Every file below is
 * refused with ERR_ARENA_CORRUPT, ERR_ARENA_HEADER_MISMATCH or
 * ERR_ARENA_NOT_A_FILE and left byte for byte as it was: same hash, size and
 * modification time.
 *
 * Broken variants caught: LLVM's "resize any file shorter than the header to the
 * capacity and take it over" (size and hash would change: the short cases); a
 * resize before validation (the zeros and random cases whose size is below the
 * capacity would grow); treating a file of zeros as new (it would be taken over).
 * The wrong-headerOffset case whose bytes look like an interrupted creation
 * caught a real bug: lib/arena/header.ts judged any [aligned bumpPtr, *, 0, 0] at the
 * requested offset to be a creation that never finished and protocol.ts
 * truncated the file to 0, destroying a live arena opened with the wrong offset
 * (observed: create succeeded, taking the file over as a new arena). See the fix in protocol.ts/header.ts.
 */
import { expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ArenaError, MappedFileRegionArena } from "../../../lib/index.ts";
import { tempDirectory } from "../../support/temp.ts";

const dir = tempDirectory("mfa-foreign-");
const capacity = 1024 * 1024;

function fingerprint(path: string) {
  const stat = statSync(path, { bigint: true });
  return { sha256: createHash("sha256").update(readFileSync(path)).digest("hex"), size: stat.size, mtimeNs: stat.mtimeNs };
}

function expectRefused(path: string, codes: string[], options: { capacity: number; headerOffset?: number } = { capacity }): string {
  const before = fingerprint(path);
  const hadCompanion = existsSync(`${path}.shared`);
  let caught: unknown;
  try {
    MappedFileRegionArena.create(path, options).close();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ArenaError);
  expect(codes).toContain((caught as ArenaError).code);
  expect(fingerprint(path)).toEqual(before);
  // Nothing left beside it either: no PATH.shared companion for a file we refused.
  expect(existsSync(`${path}.shared`)).toBe(hadCompanion);
  return (caught as ArenaError).code;
}

let counter = 0;
function foreign(contents: Uint8Array | string): string {
  const path = join(dir, `foreign-${counter++}`);
  writeFileSync(path, contents);
  return path;
}

const corruptOrMismatch = ["ERR_ARENA_CORRUPT", "ERR_ARENA_HEADER_MISMATCH"];

test("text files are refused and untouched", () => {
  expect(expectRefused(foreign("hello, world\n"), ["ERR_ARENA_CORRUPT"])).toBe("ERR_ARENA_CORRUPT");
  expectRefused(foreign("The quick brown fox jumps over the lazy dog.\n".repeat(200)), corruptOrMismatch);
  expectRefused(foreign(`{"json": true, "pad": "${"x".repeat(100)}"}`), corruptOrMismatch);
}, 60_000);

test("random bytes of many sizes, including exactly the capacity, are refused and untouched", () => {
  for (const size of [32, 33, 100, 4096, 65536, capacity, capacity + 8]) {
    for (let round = 0; round < 5; round++) expectRefused(foreign(randomBytes(size)), corruptOrMismatch);
  }
}, 60_000);

test("files of zeros, including exactly the capacity and larger, are refused and untouched", () => {
  for (const size of [32, 40, 4096, capacity - 8, capacity, 2 * capacity]) {
    expectRefused(foreign(new Uint8Array(size)), ["ERR_ARENA_CORRUPT"]);
    expectRefused(foreign(new Uint8Array(size)), ["ERR_ARENA_CORRUPT"], { capacity: size });
  }
}, 60_000);

test("files too short for the header are refused and untouched", () => {
  const header = new Uint8Array(32);
  new DataView(header.buffer).setBigUint64(0, 32n, true);
  new DataView(header.buffer).setBigUint64(16, BigInt(capacity), true);
  for (const size of [1, 8, 24, 31]) {
    expectRefused(foreign(header.slice(0, size)), ["ERR_ARENA_CORRUPT"]);
  }
  // Long enough for a header at 0, too short for one at 4096.
  expectRefused(foreign(randomBytes(1000)), ["ERR_ARENA_CORRUPT"], { capacity, headerOffset: 4096 });
}, 60_000);

function realArena(name: string, headerOffset: number, firstWords: bigint[] = []): string {
  const path = join(dir, name);
  const arena = MappedFileRegionArena.create(path, { capacity, headerOffset });
  const first = arena.allocateOffset(64);
  const view = new DataView(arena.bytes(first, 64).buffer, arena.bytes(first, 64).byteOffset, 64);
  firstWords.forEach((word, i) => view.setBigUint64(i * 8, word, true));
  arena.append(new TextEncoder().encode("payload that must survive"));
  arena.close();
  return path;
}

test("an arena opened with the wrong headerOffset is refused and untouched", () => {
  const at0 = realArena("at-0.arena", 0);
  expectRefused(at0, corruptOrMismatch, { capacity, headerOffset: 64 });
  expectRefused(at0, corruptOrMismatch, { capacity, headerOffset: 8 });
  const at128 = realArena("at-128.arena", 128);
  expectRefused(at128, corruptOrMismatch, { capacity, headerOffset: 0 });
  expect(expectRefused(at128, corruptOrMismatch, { capacity, headerOffset: 256 })).toBeDefined();
  // And the right offset still opens it, data intact.
  const arena = MappedFileRegionArena.create(at128, { capacity, headerOffset: 128 });
  expect(new TextDecoder().decode(arena.bytes(160 + 64, 25))).toBe("payload that must survive");
  arena.close();
}, 60_000);

test("user data that looks like an unfinished creation at the wrong headerOffset is not taken over", () => {
  // The first allocation (at 32) holds [96, 0, 0, 0]: read as a header at offset
  // 32 that is an aligned bumpPtr past the header with capacity and headerOffset 0.
  const path = realArena("lookalike.arena", 0, [96n, 0n, 0n, 0n]);
  expectRefused(path, corruptOrMismatch, { capacity, headerOffset: 32 });
  const arena = MappedFileRegionArena.create(path, { capacity });
  expect(new TextDecoder().decode(arena.bytes(32 + 64, 25))).toBe("payload that must survive");
  arena.close();
}, 60_000);

test("a directory is ERR_ARENA_NOT_A_FILE and gets no .shared companion", () => {
  const path = join(dir, "a-directory");
  mkdirSync(path);
  let caught: unknown;
  try {
    MappedFileRegionArena.create(path, { capacity });
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ArenaError);
  expect((caught as ArenaError).code).toBe("ERR_ARENA_NOT_A_FILE");
  expect(statSync(path).isDirectory()).toBe(true);
  expect(existsSync(`${path}.shared`)).toBe(false);
}, 60_000);

test("an arena file longer than its capacity is refused and untouched (issue 8 item 9a)", () => {
  // A valid header (capacity 4096, bumpPtr 64) in a file of 8192 bytes: not the
  // LLVM overflow close (that leaves the file exactly bumpPtr long, past the
  // capacity). Without the check, opening and closing it cut it to 64 bytes.
  const bytes = new Uint8Array(8192).fill(0x5a);
  const view = new DataView(bytes.buffer);
  [64n, 4096n, 4096n, 0n].forEach((word, index) => view.setBigUint64(index * 8, word, true));
  const path = foreign(bytes);
  expect(expectRefused(path, ["ERR_ARENA_CORRUPT"], { capacity: 4096 })).toBe("ERR_ARENA_CORRUPT");
  expect(statSync(path).size).toBe(8192);
});
