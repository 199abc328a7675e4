/**
 * What tests/trie/children/fuzz-cases.ts fuzzes: a trie (OnDiskTrieRawHashMap) or
 * a data pool (OnDiskDataAllocator). Each target builds a few small healthy files,
 * corrupts a copy of one for a case, and uses the corrupt file as a user would,
 * every call through `step`, which accepts an ArenaError and nothing else.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ArenaError, OnDiskDataAllocator, OnDiskTrieRawHashMap } from "../../../lib/index.ts";
import { mutatePool } from "../../support/pool-mutations.ts";
import { databaseHeader, readTrieLayout } from "../../support/trie-layout.ts";
import { dataBytes, keyHash, writeKeyData } from "../../support/trie-keys.ts";
import { mutate, type Mutated } from "../../support/trie-mutations.ts";

export interface FuzzContext {
  /** Runs one call; returns undefined if it threw an ArenaError, throws on anything else. */
  step<T>(name: string, run: () => T): T | undefined;
  /** Counts an outcome for the summary. */
  count(outcome: "opened" | "refused" | "validateThrew" | "validateClean"): void;
  /** Throws the error that fails the case: the library did something no file may make it do. */
  fail(message: string): never;
}

export interface FuzzTarget {
  variants: number;
  describe(variant: number): string;
  corrupt(variant: number, random: () => number): Mutated;
  exercise(context: FuzzContext, variant: number, random: () => number, path: string, fileBytes: number): void;
}

const capacity = 1024 * 1024;

/** Creates a file with `build`, closes it and returns its bytes (the file itself is removed). */
function healthyFile(path: string, build: () => void): Uint8Array {
  build();
  const file = new Uint8Array(readFileSync(path));
  rmSync(path, { force: true });
  rmSync(`${path}.shared`, { force: true });
  return file;
}

export function trieTarget(directory: string): FuzzTarget {
  const baseKeys = 300;
  // Tiny roots and subtries: 300 keys make subtries several levels deep.
  const shapes = [
    { rootBits: 2, subtrieBits: 1 },
    { rootBits: 3, subtrieBits: 2 },
    { rootBits: 4, subtrieBits: 1 },
    { rootBits: 2, subtrieBits: 2 },
  ];
  const optionsFor = (variant: number) => ({ name: "index", hashBits: 256, dataBytes, capacity, ...shapes[variant]! });
  const healthy = shapes.map((_, variant) => {
    const path = join(directory, `healthy-trie-${process.pid}-${variant}.bin`);
    const file = healthyFile(path, () => {
      using map = OnDiskTrieRawHashMap.create(path, optionsFor(variant));
      for (let i = 0; i < baseKeys; i++) map.insert(keyHash(i), (data) => writeKeyData(data, i, 0));
    });
    return { file, layout: readTrieLayout(file) };
  });
  const hash = new Uint8Array(32);
  return {
    variants: shapes.length,
    describe: (variant) => `trie ${JSON.stringify(shapes[variant])}`,
    corrupt: (variant, random) => mutate(healthy[variant]!.file, healthy[variant]!.layout, random),
    exercise({ step, count, fail }, variant, random, path, fileBytes) {
      const map = step("open", () => OnDiskTrieRawHashMap.create(path, optionsFor(variant)));
      if (!map) return count("refused");
      count("opened");
      try {
        const probes: number[] = [];
        const foundOffsets: number[] = [];
        for (let probe = 0; probe < 24; probe++) {
          const key = probe < 20 ? Math.floor(random() * baseKeys) : baseKeys + 1000 + probe;
          probes.push(key);
          foundOffsets.push(step(`find ${key}`, () => map.findOffset(keyHash(key, hash))) ?? -2);
        }
        // The batch walk reads the same slots its own way: the same answers, or an ArenaError.
        const batch = new Uint8Array(probes.length * 32);
        probes.forEach((key, i) => keyHash(key, batch.subarray(i * 32, (i + 1) * 32)));
        const batchOffsets = new Int32Array(probes.length);
        if (step("findOffsets", () => map.findOffsets(batch, batchOffsets)) !== undefined) {
          probes.forEach((key, i) => {
            if (foundOffsets[i] !== -2 && batchOffsets[i] !== foundOffsets[i]) fail(`findOffsets says ${batchOffsets[i]} for key ${key}, findOffset ${foundOffsets[i]}`);
          });
        }
        for (let probe = 0; probe < 4; probe++) {
          const offset = Math.floor(random() * (fileBytes + 64));
          step(`recoverFromOffset ${offset}`, () => map.recoverFromOffset(offset));
        }
        // The iterator must end by itself: a file of N bytes cannot hold more than N / 8 records.
        step("iterate", () => {
          let records = 0;
          for (const _record of map) if (++records > capacity / 8) fail("iteration yields more records than the file can hold: a loop");
        });
        const valid = step("validate", () => map.validate(() => {})) !== undefined;
        count(valid ? "validateClean" : "validateThrew");
        const inserted: number[] = [];
        for (let insert = 0; insert < 6; insert++) {
          const key = insert < 3 ? Math.floor(random() * baseKeys) : baseKeys + Math.floor(random() * 1000);
          const record = step(`insert ${key}`, () => {
            try {
              return map.insert(keyHash(key, hash), (data) => writeKeyData(data, key, 1));
            } catch (error) {
              // A trie that validates has nothing wrong for insert to find; only a full file stops it.
              if (valid && error instanceof ArenaError && error.code !== "ERR_ARENA_FULL") fail(`insert into a trie that validated clean threw ${error.code}: ${error.message}`);
              throw error;
            }
          });
          if (record) inserted.push(key);
        }
        // Inserting into a trie that validates must keep it valid, and find what it inserted.
        if (valid) {
          try {
            map.validate(() => {});
          } catch (error) {
            fail(`validate passed, then inserts of ${inserted} made it throw: ${(error as Error).message}`);
          }
          for (const key of inserted) if (!map.find(keyHash(key, hash))) fail(`key ${key} was inserted into a valid trie but is not found`);
        }
      } finally {
        step("close", () => map.close());
      }
    },
  };
}

export function poolTarget(directory: string): FuzzTarget {
  const userHeaderSizes = [8, 0, 40];
  const optionsFor = (variant: number) => ({ name: "data", capacity, userHeaderBytes: userHeaderSizes[variant]! });
  const healthy = userHeaderSizes.map((_, variant) => {
    const path = join(directory, `healthy-pool-${process.pid}-${variant}.bin`);
    const blocks: [number, number][] = [];
    const file = healthyFile(path, () => {
      using pool = OnDiskDataAllocator.create(path, { ...optionsFor(variant), initializeUserHeader: (header) => header.fill(0xa5) });
      for (let i = 0; i < 50; i++) {
        const block = pool.allocate(1 + ((i * 37) % 200));
        block.data.fill(i);
        blocks.push([block.offset, block.data.length]);
      }
    });
    const tableAt = Number(new DataView(file.buffer).getBigInt64(databaseHeader.rootTableOffset, true));
    return { file, tableAt, blocks };
  });
  return {
    variants: userHeaderSizes.length,
    describe: (variant) => `pool, user header ${userHeaderSizes[variant]} bytes`,
    corrupt: (variant, random) => mutatePool(healthy[variant]!.file, healthy[variant]!.tableAt, random),
    exercise({ step, count, fail }, variant, random, path, fileBytes) {
      // Half the opens name no user header size, so a garbage size is not refused at once.
      const options = random() < 0.5 ? optionsFor(variant) : { name: "data", capacity };
      const pool = step("open", () => OnDiskDataAllocator.create(path, options));
      if (!pool) return count("refused");
      count("opened");
      try {
        step("userHeader", () => pool.userHeader.reduce((sum, byte) => sum + byte, 0));
        for (const [offset, size] of healthy[variant]!.blocks.slice(0, 10)) step(`get ${offset} ${size}`, () => pool.get(offset, size)[0]);
        for (let probe = 0; probe < 10; probe++) {
          const offset = Math.floor(random() * (fileBytes + 256));
          const size = Math.floor(random() * 512);
          step(`get ${offset} ${size}`, () => pool.get(offset, size)[size - 1]);
        }
        for (let i = 0; i < 3; i++) {
          const block = step("allocate", () => pool.allocate(1 + Math.floor(random() * 300)));
          if (!block) continue;
          block.data.fill(7 + i);
          // A block just allocated is readable back, whatever the rest of the file holds.
          const back = step(`get ${block.offset} ${block.data.length} (just allocated)`, () => pool.get(block.offset, block.data.length));
          if (!back || !back.every((byte) => byte === 7 + i)) fail(`block ${block.offset} (${block.data.length} bytes) just allocated does not read back`);
        }
      } finally {
        step("close", () => pool.close());
      }
    },
  };
}
