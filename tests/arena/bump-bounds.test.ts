/**
 * Issue 8 item 1: the bump pointer is never trusted without bounds. Whatever the
 * header's bumpPtr holds (left past the capacity by an overflowing allocation that
 * was killed, climbed by callers retrying while full, or hand-edited), allocation
 * never hands out an offset outside [headerOffset + 32, capacity], never wraps,
 * never crashes; an absurd value is refused with ERR_ARENA_CORRUPT; and `create`
 * and `inspect`/`verify` judge every header alike (one function, judgeHeader).
 *
 * Broken variants caught, each observed on the version before the fix: retrying
 * a full allocation climbed the word by its size every time (the "does not climb"
 * tests see the word grow by tries x capacity); a word near 2^63 opened, wrapped
 * negative, and allocateOffset returned negative offsets (and allocate() on a
 * 6 GiB arena killed the child: the SIGSEGV case below runs in a child); a word
 * past 2^63 opened for inspect but create refused it with "bumpPtr 0x-7ff...
 * points into the header" (the agreement test, and its minus-sign check).
 */
import { describe, expect, test } from "bun:test";
import { closeSync, openSync, readSync, statSync, truncateSync, writeSync } from "node:fs";
import { ArenaError, MappedFileRegionArena } from "../../lib/index.ts";
import { maxBumpPtr } from "../../lib/arena/header.ts";
import { inspectArenaFile } from "../../lib/cli/inspect.ts";
import { expectArenaError } from "../support/expect.ts";
import { runChild } from "../support/processes.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("mfa-bump-");
const capacity = 64 * 1024;

/** A file of `fileSize` bytes (sparse) holding a header at 0 with these words. */
function writeArenaFile(path: string, fileSize: number, bumpPtr: bigint, capacityWord = BigInt(capacity)): void {
  const header = new Uint8Array(32);
  const view = new DataView(header.buffer);
  view.setBigUint64(0, BigInt.asUintN(64, bumpPtr), true);
  view.setBigUint64(8, 4096n, true);
  view.setBigUint64(16, capacityWord, true);
  view.setBigUint64(24, 0n, true);
  const fd = openSync(path, "w");
  writeSync(fd, header, 0, 32, 0);
  closeSync(fd);
  truncateSync(path, fileSize);
}

function bumpPtrOnDisk(path: string): bigint {
  const word = Buffer.alloc(8);
  const fd = openSync(path, "r");
  readSync(fd, word, 0, 8, 0);
  closeSync(fd);
  return word.readBigUInt64LE(0);
}

describe("an arena retried while full", () => {
  test("does not climb the bump pointer, however often it is retried (issue 8 item 1)", () => {
    // An allocation that crosses the end puts the word back; one that starts past
    // it (another process's overflow in flight, or killed there) cannot, and each
    // retry used to add its size for good: 20,000 x 64 KiB here.
    const path = freshPath(directory);
    writeArenaFile(path, capacity, BigInt(capacity + 8));
    const arena = MappedFileRegionArena.create(path, { capacity });
    for (let attempt = 0; attempt < 20_000; attempt++) {
      expectArenaErrorQuietly(() => arena.allocateOffset(capacity), "ERR_ARENA_FULL");
    }
    const word = new BigUint64Array(arena.bytes(0, 8).slice().buffer)[0]!;
    expect(word).toBeLessThanOrEqual(BigInt(capacity + 8));
    expect(arena.size).toBe(capacity);
    arena.close();
    // The last closer, alone with the file, puts the word back at the capacity.
    expect(bumpPtrOnDisk(path)).toBe(BigInt(capacity));
    expect(statSync(path).size).toBe(capacity);
  });

  test("killed inside an overflowing allocation (word a little past the capacity): opens full, stays so (issue 8 item 1)", () => {
    const path = freshPath(directory);
    writeArenaFile(path, capacity, BigInt(capacity + 4096));
    const arena = MappedFileRegionArena.create(path, { capacity });
    expect(arena.size).toBe(capacity);
    for (let attempt = 0; attempt < 10_000; attempt++) {
      expectArenaErrorQuietly(() => arena.allocateOffset(8), "ERR_ARENA_FULL");
    }
    const word = new BigUint64Array(arena.bytes(0, 8).slice().buffer)[0]!;
    expect(word).toBeLessThanOrEqual(BigInt(capacity + 4096));
    arena.close();
    expect(bumpPtrOnDisk(path)).toBe(BigInt(capacity));
    // Reopened: still full, still valid.
    using again = MappedFileRegionArena.create(path, { capacity });
    expect(again.size).toBe(capacity);
    expectArenaError(() => again.allocateOffset(8), "ERR_ARENA_FULL");
  });
});

/** expectArenaError without an expect() per call: thousands of calls stay fast. */
function expectArenaErrorQuietly(run: () => unknown, code: string): void {
  try {
    run();
  } catch (error) {
    if (error instanceof ArenaError && error.code === code) return;
    throw error;
  }
  throw new Error(`expected ArenaError ${code}, the call returned`);
}

test("a word near 2^63 on a 6 GiB arena: refused or full, never a negative offset or a crash (issue 8 item 1)", async () => {
  const big = 6 * 1024 ** 3;
  for (const bumpPtr of [2n ** 63n - 2n ** 33n, maxBumpPtr]) {
    const path = freshPath(directory);
    writeArenaFile(path, big, bumpPtr, BigInt(big));
    const result = await runChild("overflow-child.ts", [path, big, 4]);
    expect(result.signalCode).toBeNull();
    expect(result.stderr).toBe("");
    const report = JSON.parse(result.stdout);
    if (bumpPtr > maxBumpPtr) {
      expect(report.create).toBe("ERR_ARENA_CORRUPT");
      expect(report.message).not.toMatch(/0x-/);
    } else {
      expect(report).toMatchObject({ create: "ok", outcomes: ["ERR_ARENA_FULL"], size: big });
      expect(BigInt(report.bumpPtr)).toBeLessThanOrEqual(bumpPtr); // never climbed
      expect(bumpPtrOnDisk(path)).toBe(BigInt(big)); // put back at the capacity by the last close
    }
  }
}, 60_000);

describe("create and inspect judge every header alike (issue 8 item 1)", () => {
  const size = BigInt(capacity);
  const bumps: [string, bigint][] = [
    ["inside", 1024n],
    ["at the capacity", size],
    ["a little past the capacity", size + 8n],
    ["twice the capacity", 2n * size],
    ["at the limit", maxBumpPtr],
    ["past the limit", maxBumpPtr + 8n],
    ["just below 2^63", 2n ** 63n - 8n],
    ["2^63 (negative as int64)", 2n ** 63n],
    ["-8 as int64", 2n ** 64n - 8n],
    ["unaligned", 1001n],
    ["into the header", 16n],
  ];
  for (const [name, bumpPtr] of bumps) {
    test(`bumpPtr ${name}`, () => {
      const path = freshPath(directory);
      writeArenaFile(path, capacity, bumpPtr);
      const inspection = inspectArenaFile(path);
      let created: ArenaError | "ok";
      try {
        MappedFileRegionArena.create(path, { capacity }).close();
        created = "ok";
      } catch (error) {
        if (!(error instanceof ArenaError)) throw error;
        created = error;
      }
      const inspectSays = inspection.validation.status === "invalid" ? inspection.validation.code : "ok";
      expect(created === "ok" ? "ok" : created.code).toBe(inspectSays);
      if (created !== "ok") expect(created.message).not.toMatch(/0x-/);
      if (inspection.validation.status === "invalid") expect(inspection.validation.reason).not.toMatch(/0x-/);
      // Accepted only when it can be allocated from safely: at most the limit.
      expect(created === "ok").toBe(bumpPtr >= 32n && bumpPtr % 8n === 0n && bumpPtr <= maxBumpPtr);
    });
  }
});
