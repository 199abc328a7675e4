/**
 * `bun bench/log-floor.ts [records] [rounds]`: where the CPU of an append of a
 * 64-byte record goes, and the floors that bound issue 12's speed goals. Not part
 * of `bun run bench` (bench/log.ts is the comparison); this is the explanation.
 *
 * Each candidate writes `records` (default 1 M) records into a file of its own,
 * created for the round and removed after it (untimed); rounds rotate the order.
 * Reported per record: CPU time (user + system of the process: page faults count,
 * time given to other tenants does not), median and min-max over the rounds.
 *
 * - RecordLog.append and appendBatch(1000): the log as shipped.
 * - "append's stores, no log": the same three stores per record (length word,
 *   set() of the bytes, Atomics.store of the commit word) into 64 KiB blocks of a
 *   bare arena, claimed one by one with tryAllocateAt as the log claims them:
 *   what the log's own JavaScript adds is the difference.
 * - the same, each block first faulted in by one madvise(MADV_POPULATE_WRITE).
 * - the same with every block reserved by one allocation up front (one fallocate
 *   instead of one per MiB).
 * - the same into pages this process has already written once (the page-cache
 *   pages exist and are mapped): the fault-free floor, JavaScript and memory only.
 * - fs.writeSync on O_APPEND, per record and of 1000 records copied into a buffer:
 *   the goals' baselines.
 */
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { MappedFileRegionArena, RecordLog } from "../lib/index.ts";
import { populateMapping } from "../lib/native/native.ts";
import { median } from "./harness.ts";
import { removeArenaFiles, scratchPath, MiB } from "./scratch.ts";

const records = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 7);
const recordBytes = 64;
const batchSize = 1000;
const blockBytes = 64 * 1024;
const capacity = 4 * 1024 * MiB;
const record = new Uint8Array(recordBytes).map((_, index) => index);
const batch = Array.from({ length: batchSize }, () => record);
const batchBuffer = new Uint8Array(recordBytes * batchSize);
/** Records per 64 KiB block, as the log packs them (16-byte block header, 4-byte length word each). */
const perBlock = Math.floor((blockBytes - 16) / (recordBytes + 4));
const regionBytes = (Math.ceil(records / perBlock) + 1) * blockBytes;

/** A block source: the next 64 KiB block to fill, page-aligned. */
type NextBlock = () => Uint8Array;

/** append's stores, block after block from `nextBlock`, optionally pre-faulting each block. */
function storeRecords(nextBlock: NextBlock, populate: boolean): void {
  let bytes: Uint8Array = new Uint8Array(0);
  let words: Int32Array = new Int32Array(0);
  let at = blockBytes;
  for (let index = 0; index < records; index++) {
    const next = at + 4 + recordBytes;
    if (next > blockBytes) {
      bytes = nextBlock();
      words = new Int32Array(bytes.buffer, bytes.byteOffset, blockBytes / 4);
      at = 16;
      if (populate && populateMapping(bytes, "write") !== 0) throw new Error("MADV_POPULATE_WRITE failed (Linux 5.14+)");
      index -= 1;
      continue;
    }
    words[at >> 2] = recordBytes;
    bytes.set(record, at + 4);
    at = next;
    Atomics.store(words, 2, next);
  }
}

/**
 * A new arena file (its header where the log's is, so blocks are page-aligned) and
 * its blocks: "claimed" one at a time with tryAllocateAt as the log claims them
 * (the arena reserves disk 1 MiB ahead), "reserved" all at once by one allocation
 * up front, or "written" as well (every page stored to once before timing).
 */
function inFreshArena(path: string, blocks: "claimed" | "reserved" | "written", populate = false): () => void {
  const arena = MappedFileRegionArena.create(path, { capacity, headerOffset: 4096 - 32 });
  let nextBlock: NextBlock;
  if (blocks === "claimed") {
    nextBlock = () => {
      const offset = arena.size;
      if (!arena.tryAllocateAt(offset, blockBytes)) throw new Error("lost a claim in a file of our own");
      return arena.bytes(offset, blockBytes);
    };
  } else {
    const region = arena.allocate(regionBytes);
    if (blocks === "written") region.fill(0);
    let offset = -blockBytes;
    nextBlock = () => region.subarray((offset += blockBytes), offset + blockBytes);
  }
  return () => {
    try {
      storeRecords(nextBlock, populate);
    } finally {
      arena.close();
    }
  };
}

/** Each candidate prepares (untimed) and returns its timed part. */
const candidates: Record<string, (path: string) => () => void> = {
  "RecordLog.append": (path) => {
    const log = RecordLog.open(path, { capacity });
    return () => {
      for (let index = 0; index < records; index++) log.append(record);
      log.close();
    };
  },
  [`RecordLog.appendBatch(${batchSize})`]: (path) => {
    const log = RecordLog.open(path, { capacity });
    return () => {
      for (let index = 0; index < records; index += batchSize) log.appendBatch(batch);
      log.close();
    };
  },
  "append's stores, no log, blocks claimed one by one": (path) => inFreshArena(path, "claimed"),
  "the same, each block pre-faulted by MADV_POPULATE_WRITE": (path) => inFreshArena(path, "claimed", true),
  "the same, all blocks reserved up front": (path) => inFreshArena(path, "reserved"),
  "the same into pages already written (no fault)": (path) => inFreshArena(path, "written"),
  "fs.writeSync per record, O_APPEND (1/5 of the records)": (path) => {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o644);
    return () => {
      // A fifth of the records, scaled back below: a microsecond each.
      for (let index = 0; index < records / 5; index++) writeSync(fd, record);
      closeSync(fd);
    };
  },
  [`fs.writeSync of ${batchSize} records copied into one buffer, O_APPEND`]: (path) => {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o644);
    return () => {
      for (let done = 0; done < records; done += batchSize) {
        for (let index = 0; index < batchSize; index++) batchBuffer.set(batch[index]!, index * recordBytes);
        writeSync(fd, batchBuffer);
      }
      closeSync(fd);
    };
  },
};

const names = Object.keys(candidates);
const scale = (name: string) => (name.includes("1/5") ? 5 : 1);
const cpuNs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
};
const samples = new Map<string, number[]>(names.map((name) => [name, []]));
// One untimed round first: the JIT's tiers and the first files' costs.
for (let round = -1; round < rounds; round++) {
  for (let step = 0; step < names.length; step++) {
    const name = names[(Math.max(round, 0) + step) % names.length]!;
    const path = scratchPath("floor");
    const timed = candidates[name]!(path);
    const start = cpuNs();
    timed();
    const ns = ((cpuNs() - start) * scale(name)) / records;
    removeArenaFiles(path);
    if (round >= 0) samples.get(name)!.push(ns);
  }
}
console.log(`${records} records of ${recordBytes} B per round, ${rounds} rounds; CPU ns per record: median [min-max]`);
for (const name of names) {
  const values = samples.get(name)!;
  console.log(`${name.padEnd(72)} ${median(values).toFixed(1).padStart(7)} [${Math.min(...values).toFixed(1)}-${Math.max(...values).toFixed(1)}]`);
}
