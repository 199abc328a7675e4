/**
 * OnDiskTrieRawHashMap.findOffsets (lib/trie/find-many.ts): the batch walk gives
 * findOffset's answer for every hash, present or absent, whatever the batch's
 * length (groups of eight and a remainder), the trie's depth, the alignment of
 * the caller's array and of the records (word or byte compares); and it refuses
 * bad arguments and corrupt files as findOffset does.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { OnDiskTrieRawHashMap } from "../../lib/index.ts";
import { expectArenaError } from "../support/expect.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";
import { keyHash } from "../support/trie-keys.ts";

const directory = tempDirectory("trie-find-many-");

/** A trie of `count` keys; small root and subtries make it several levels deep. */
function filledTrie(count: number, dataBytes: number) {
  const map = OnDiskTrieRawHashMap.create(freshPath(directory), { name: "index", hashBits: 256, dataBytes, capacity: 1 << 24, rootBits: 2, subtrieBits: 2 });
  for (let i = 0; i < count; i++) map.insert(keyHash(i));
  return map;
}

/** Keys 0..count-1 (present) and as many absent ones, interleaved, one after another from byte `shift`. */
function batchOf(count: number, shift: number): Uint8Array {
  const backing = new Uint8Array(shift + 2 * count * 32);
  const hashes = backing.subarray(shift);
  for (let i = 0; i < 2 * count; i++) keyHash((i >> 1) + (i & 1) * 1_000_000, hashes.subarray(i * 32, (i + 1) * 32));
  return hashes;
}

describe("findOffsets answers as findOffset does", () => {
  for (const dataBytes of [8, 6]) {
    test(`records with ${dataBytes} data bytes (${dataBytes % 4 === 0 ? "word" : "byte"} compares), batches of 0 to 203 hashes at byte offsets 0 to 3`, () => {
      using map = filledTrie(300, dataBytes);
      for (const count of [0, 1, 7, 8, 9, 101]) {
        for (let shift = 0; shift < 4; shift++) {
          const hashes = batchOf(count, shift);
          const offsets = new Int32Array(hashes.length / 32 + 1).fill(12345);
          const found = map.findOffsets(hashes, offsets);
          const expected = Array.from({ length: hashes.length / 32 }, (_, i) => map.findOffset(hashes.subarray(i * 32, (i + 1) * 32)));
          expect(Array.from(offsets.subarray(0, expected.length))).toEqual(expected);
          expect(found).toBe(count);
          expect(offsets[expected.length]).toBe(12345); // nothing written past the batch
          expect(expected.filter((offset) => offset > 0).length).toBe(count);
        }
      }
    });
  }
});

describe("arguments and state", () => {
  test("hashes not a whole number of hashes, offsets too short or of the wrong type: RangeError or TypeError naming them", () => {
    using map = filledTrie(10, 8);
    expect(() => map.findOffsets(new Uint8Array(33), new Int32Array(2))).toThrow(/hashes must be a multiple of 32 bytes/);
    expect(() => map.findOffsets(new Uint8Array(64), new Int32Array(1))).toThrow(/offsets must hold 2 offsets/);
    expect(() => map.findOffsets([] as unknown as Uint8Array, new Int32Array(1))).toThrow(TypeError);
    expect(() => map.findOffsets(new Uint8Array(32), new Float64Array(1) as unknown as Int32Array)).toThrow(TypeError);
  });

  test("a closed map: ERR_ARENA_CLOSED", () => {
    const map = filledTrie(1, 8);
    map.close();
    expectArenaError(() => map.findOffsets(new Uint8Array(32), new Int32Array(1)), "ERR_ARENA_CLOSED");
  });

  test("a corrupt slot: ERR_ARENA_CORRUPT, as from findOffset", () => {
    const path = freshPath(directory);
    {
      using map = OnDiskTrieRawHashMap.create(path, { name: "index", hashBits: 256, dataBytes: 8, capacity: 1 << 20, rootBits: 1, subtrieBits: 1 });
      map.insert(keyHash(0));
    }
    // Every used root slot -> a record offset past the bump pointer.
    const file = readFileSync(path);
    const view = new DataView(file.buffer, file.byteOffset);
    const root = Number(view.getBigInt64(Number(view.getBigInt64(8, true)) + 16, true));
    for (const slot of [root + 8, root + 16]) if (view.getBigInt64(slot, true) !== 0n) view.setBigInt64(slot, 1n << 20n, true);
    writeFileSync(path, file);
    using map = OnDiskTrieRawHashMap.create(path, { name: "index", hashBits: 256, dataBytes: 8, capacity: 1 << 20 });
    expectArenaError(() => map.findOffset(keyHash(0)), "ERR_ARENA_CORRUPT");
    expectArenaError(() => map.findOffsets(keyHash(0), new Int32Array(1)), "ERR_ARENA_CORRUPT");
  });
});
