/**
 * Where a get of a small object goes: the steps of ContentStore.get taken one at
 * a time (each row does everything the row before it did, plus one step), beside
 * lmdb-js's reads of the same blobs and the bare cost of making a 1 KiB copy. Not
 * part of `bun run bench` (it measures internals); run it to see why the get rows
 * of bench/store.ts are what they are:
 *
 *   bun bench/store-get-steps.ts            # 100k objects of 1 KiB
 *   STORE_BENCH_SMALL=20000 bun bench/store-get-steps.ts
 *
 * CPU time, interleaved rounds, median (min-max), a fixed random order of ids.
 */
import { open as openLmdb } from "lmdb";
import { rmSync } from "node:fs";
import { ContentStore } from "../lib/index.ts";
import { capacitiesFor, Generation } from "../lib/store/generation.ts";
import { idScratch, requireIdInto } from "../lib/store/hashing.ts";
import { poolLeafLength } from "../lib/store/object-io.ts";
import { compare, consume, type Candidate } from "./harness.ts";
import { scratchPath } from "./scratch.ts";

const count = Number(process.env.STORE_BENCH_SMALL ?? 100_000);
const size = 1024;

const directory = scratchPath("get-steps");
const lmdbDirectory = scratchPath("get-steps-lmdb");
const store = ContentStore.open(directory);
const lmdb = openLmdb<Buffer, string>({ path: lmdbDirectory, noSync: true, compression: false, encoding: "binary" });
const blob = new Uint8Array(size);
crypto.getRandomValues(blob);
const ids: string[] = [];
for (let start = 0; start < count; start += 1000) {
  lmdb.transactionSync(() => {
    for (let index = start; index < Math.min(count, start + 1000); index++) {
      new DataView(blob.buffer).setFloat64(0, index, true);
      const id = store.put(blob);
      ids.push(id);
      lmdb.put(id, Buffer.from(blob));
    }
  });
}
// Looked up in a fixed random order, as bench/store.ts does.
for (let index = ids.length - 1; index > 0; index--) {
  const other = Math.floor(Math.random() * (index + 1));
  [ids[index], ids[other]] = [ids[other]!, ids[index]!];
}

// The steps below read the generation the store writes to, opened a second time.
const generation = Generation.open(directory, 0, capacitiesFor(undefined))!;
const scratch = idScratch();
const poolBytes = new Uint8Array(generation.pool.userHeader.buffer);
const into = new Uint8Array(size);
let cursor = 0;
const next = () => {
  const id = ids[cursor]!;
  cursor = cursor + 1 === ids.length ? 0 : cursor + 1;
  return id;
};
const step = (name: string, once: () => number): Candidate => ({
  name,
  run(ops) {
    for (let op = 0; op < ops; op++) consume(once());
  },
});
const locate = () => {
  requireIdInto(next(), "id", scratch);
  const at = generation.findWord(scratch);
  return at < 0 || generation.wordKindAt(at) !== 1 ? -1 : generation.wordOffsetAt(at);
};

const rows = compare(
  "get 1 KiB, step by step",
  [
    step("1 reach the id string (length)", () => next().length),
    step("2 + parse hex into scratch", () => (requireIdInto(next(), "id", scratch), scratch[0]!)),
    step("3 + trie findOffset", () => (requireIdInto(next(), "id", scratch), generation.objects.findOffset(scratch))),
    step("4 + index word (kind, offset)", locate),
    step("5a + touch the record (one byte, long-lived view)", () => poolBytes[locate()]!),
    step("5b + header view (pool.get: a view per call)", () => generation.pool.get(locate(), 16)[0]!),
    step("5 + record header and bounds (long-lived view)", () => poolLeafLength(generation, locate())),
    step("6 + view of the data", () => {
      const offset = locate();
      return new Uint8Array(generation.poolBytes.buffer, offset + 16, poolLeafLength(generation, offset)).length;
    }),
    step("6' + copy into a reused buffer", () => {
      const offset = locate();
      const length = poolLeafLength(generation, offset);
      into.set(generation.poolBytes.subarray(offset + 16, offset + 16 + length));
      return length;
    }),
    step("7 + copy into a fresh array (new, set)", () => {
      const offset = locate();
      const length = poolLeafLength(generation, offset);
      const copy = new Uint8Array(length);
      copy.set(generation.poolBytes.subarray(offset + 16, offset + 16 + length));
      return copy.length;
    }),
    step("7' + copy into a fresh array (slice)", () => {
      const offset = locate();
      return generation.poolBytes.slice(offset + 16, offset + 16 + poolLeafLength(generation, offset)).length;
    }),
    step("ContentStore.view", () => store.view(next())!.length),
    step("ContentStore.getInto", () => store.getInto(next(), into)),
    step("ContentStore.get", () => store.get(next())!.data.length),
    step("lmdb-js getBinaryFast (copy into lmdb's buffer)", () => lmdb.getBinaryFast(next())!.length),
    step("lmdb-js getBinary (fresh copy)", () => lmdb.getBinary(next())!.length),
    step("new Uint8Array(1024) alone", () => new Uint8Array(size).length + next().length),
  ],
  { baseline: "ContentStore.get", clock: "cpu" },
);
const us = (ns: number) => (ns / 1000).toFixed(2);
console.log(`${count} objects of ${size} bytes, random order; CPU time per op, median (min-max) of ${rows[0]!.rounds} rounds`);
for (const row of rows) console.log(`${row.name.padEnd(52)} ${us(row.nsPerOp)} us (${us(row.minNsPerOp)}-${us(row.maxNsPerOp)})`);
generation.close();
store.close();
lmdb.close();
rmSync(directory, { recursive: true, force: true });
rmSync(lmdbDirectory, { recursive: true, force: true });
