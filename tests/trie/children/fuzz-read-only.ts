/**
 * Child of tests/trie/read-only-fuzz.test.ts: the trie and pool corruption
 * fuzzer (tests/support/trie-mutations.ts, pool-mutations.ts) over the READ-ONLY
 * opens, which tests/trie/fuzz.test.ts never exercises. A reader maps only the
 * file's length, not the capacity, so bounds that are safe for a writer are not
 * automatically safe here.
 *
 *   bun fuzz-read-only.ts DIRECTORY SEED FIRST CASES trie|pool [--verbose]
 *
 * Every call may throw an ArenaError; anything else (TypeError, RangeError, a
 * signal, a loop) is printed as FAIL and the child exits 1.
 */
import { readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ArenaError, OnDiskDataAllocator, OnDiskTrieRawHashMap } from "../../../lib/index.ts";
import { mutatePool } from "../../support/pool-mutations.ts";
import { prng } from "../../support/random.ts";
import { databaseHeader, readTrieLayout } from "../../support/trie-layout.ts";
import { dataBytes, keyHash, writeKeyData } from "../../support/trie-keys.ts";
import { mutate, type Mutated } from "../../support/trie-mutations.ts";

const [directory = ".", seedText, firstText, countText, target = "trie", ...flags] = process.argv.slice(2);
const seed = Number(seedText);
const firstCase = Number(firstText);
const cases = Number(countText);
const verbose = flags.includes("--verbose");
const say = (line: string) => writeSync(1, `${line}\n`);
const capacity = 1024 * 1024;

class Bug extends Error {}
function step<T>(name: string, run: () => T): T | undefined {
  try {
    return run();
  } catch (error) {
    if (error instanceof ArenaError) {
      if (verbose) say(`  ${name}: ArenaError ${error.code}: ${error.message}`);
      return undefined;
    }
    throw new Bug(`${name} threw a non-ArenaError: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}

function healthy(path: string, build: () => void): Uint8Array {
  build();
  const file = new Uint8Array(readFileSync(path));
  rmSync(path, { force: true });
  rmSync(`${path}.shared`, { force: true });
  return file;
}

const shapes = [
  { rootBits: 2, subtrieBits: 1 },
  { rootBits: 3, subtrieBits: 2 },
  { rootBits: 4, subtrieBits: 1 },
];
const trieFiles = target === "trie"
  ? shapes.map((shape, variant) => {
      const path = join(directory, `healthy-${process.pid}-${variant}`);
      const file = healthy(path, () => {
        using map = OnDiskTrieRawHashMap.create(path, { name: "index", hashBits: 256, dataBytes, capacity, ...shape });
        for (let i = 0; i < 300; i++) map.insert(keyHash(i), (data) => writeKeyData(data, i, 0));
      });
      return { file, layout: readTrieLayout(file) };
    })
  : [];
const userHeaderSizes = [8, 0, 40];
const poolFiles = target === "pool"
  ? userHeaderSizes.map((userHeaderBytes, variant) => {
      const path = join(directory, `healthy-pool-${process.pid}-${variant}`);
      const blocks: [number, number][] = [];
      const file = healthy(path, () => {
        using pool = OnDiskDataAllocator.create(path, { name: "data", capacity, userHeaderBytes, initializeUserHeader: (h) => h.fill(0xa5) });
        for (let i = 0; i < 50; i++) {
          const block = pool.allocate(1 + ((i * 37) % 200));
          block.data.fill(i);
          blocks.push([block.offset, block.data.length]);
        }
      });
      return { file, blocks, tableAt: Number(new DataView(file.buffer).getBigInt64(databaseHeader.rootTableOffset, true)) };
    })
  : [];

const casePath = join(directory, `case-${process.pid}.bin`);
const hash = new Uint8Array(32);
for (let index = firstCase; index < firstCase + cases; index++) {
  say(`case ${index}`);
  const random = prng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  let mutated: Mutated;
  let variant: number;
  if (target === "trie") {
    variant = Math.floor(random() * trieFiles.length);
    mutated = mutate(trieFiles[variant]!.file, trieFiles[variant]!.layout, random);
  } else {
    variant = Math.floor(random() * poolFiles.length);
    mutated = mutatePool(poolFiles[variant]!.file, poolFiles[variant]!.tableAt, random);
  }
  if (verbose) say(`  ${mutated.steps.join("; ")}`);
  rmSync(casePath, { force: true });
  writeFileSync(casePath, mutated.file);
  const fileBytes = mutated.file.length;
  try {
    if (target === "trie") {
      const map = step("openReadOnly", () => OnDiskTrieRawHashMap.openReadOnly(casePath, { name: "index", hashBits: 256, dataBytes }));
      if (map) {
        try {
          for (let probe = 0; probe < 24; probe++) {
            const key = probe < 20 ? Math.floor(random() * 300) : 1300 + probe;
            step(`find ${key}`, () => map.find(keyHash(key, hash)));
            step(`findOffset ${key}`, () => map.findOffset(keyHash(key, hash)));
          }
          for (let probe = 0; probe < 4; probe++) {
            const offset = Math.floor(random() * (fileBytes + 64));
            step(`recoverFromOffset ${offset}`, () => map.recoverFromOffset(offset));
          }
          step("iterate", () => {
            let records = 0;
            for (const _record of map) if (++records > capacity / 8) throw new Bug("iteration does not end");
          });
          step("validate", () => map.validate(() => {}));
          step("size", () => map.size);
        } finally {
          step("close", () => map.close());
        }
      }
    } else {
      const options = random() < 0.5 ? { name: "data", userHeaderBytes: userHeaderSizes[variant]! } : { name: "data" };
      const pool = step("openReadOnly", () => OnDiskDataAllocator.openReadOnly(casePath, options));
      if (pool) {
        try {
          step("userHeader", () => pool.userHeader.reduce((sum, byte) => sum + byte, 0));
          for (const [offset, size] of poolFiles[variant]!.blocks.slice(0, 10)) step(`get ${offset} ${size}`, () => pool.get(offset, size)[0]);
          for (let probe = 0; probe < 10; probe++) {
            const offset = Math.floor(random() * (fileBytes + 256));
            const size = Math.floor(random() * 512);
            step(`get ${offset} ${size}`, () => pool.get(offset, size)[size - 1]);
          }
        } finally {
          step("close", () => pool.close());
        }
      }
    }
  } catch (error) {
    say(`FAIL case ${index} (seed ${seed}): ${mutated.steps.join("; ")}`);
    say(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  }
}
rmSync(casePath, { force: true });
say("summary ok");
