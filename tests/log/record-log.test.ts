// RecordLog in one process: appending, batches, scanning, following, reopening,
// limits, arguments, and close. Multi-process and crash behavior: multiprocess
// and crash tests beside this one; corrupt files: corrupt.test.ts.
import { describe, expect, test } from "bun:test";
import { RecordLog, MappedFileRegionArena } from "../../lib/index.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";
import { expectArenaError } from "../support/expect.ts";
import { makePayload, OrderChecker } from "./support/payloads.ts";

const directory = tempDirectory("log-unit-");
const capacity = 16 * 1024 * 1024;
const blockSize = 4096;
const open = (path = freshPath(directory, "log")) => RecordLog.open(path, { capacity, blockSize });
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytesOf = (value: string) => new TextEncoder().encode(value);

function all(log: RecordLog, from?: number) {
  return [...log.records(from)].map(({ position, bytes }) => ({ position, text: text(bytes) }));
}

describe("append and records", () => {
  test("records come back whole, in order, at the positions append returned", () => {
    using log = open();
    const positions = Array.from({ length: 500 }, (_, i) => log.append(bytesOf(`record ${i}`)));
    const read = all(log);
    expect(read.map((r) => r.text)).toEqual(Array.from({ length: 500 }, (_, i) => `record ${i}`));
    expect(read.map((r) => r.position)).toEqual(positions);
    expect(positions[0]).toBe(4096 + 16); // block 0, after its header
  });

  test("read(position) returns the record append's position names, and refuses any other position", () => {
    const path = freshPath(directory, "log");
    using writer = open(path);
    const positions = Array.from({ length: 300 }, (_, i) => writer.append(bytesOf(`record ${i}`)));
    using reader = open(path);
    expect(positions.map((position) => text(reader.read(position)))).toEqual(Array.from({ length: 300 }, (_, i) => `record ${i}`));
    for (const wrong of [0, 4096, positions[5]! + 4, positions[299]! + 16, capacity - 4]) {
      expect(() => reader.read(wrong)).toThrow(/not the position of a committed record/);
    }
    expect(() => reader.read(-1)).toThrow(RangeError);
  });

  test("an empty record, and one of the largest size, which fills a block alone", () => {
    using log = open();
    const largest = new Uint8Array(log.maxRecordBytes).fill(7);
    expect(log.maxRecordBytes).toBe(blockSize - 20);
    log.append(new Uint8Array(0));
    const position = log.append(largest);
    log.append(bytesOf("after"));
    const read = [...log.records()];
    expect(read.map((r) => r.bytes.length)).toEqual([0, largest.length, 5]);
    expect(read[1]!.position).toBe(position);
    expect(read[1]!.bytes.every((byte) => byte === 7)).toBe(true);
    expect(log.stats().blocks).toBe(3);
  });

  test("records(from) starts at that record, also in the middle of a block", () => {
    using log = open();
    const positions = Array.from({ length: 300 }, (_, i) => log.append(bytesOf(`r${i}`)));
    expect(all(log, positions[123]).map((r) => r.text)).toEqual(Array.from({ length: 177 }, (_, i) => `r${i + 123}`));
    expect(all(log, positions[299]! + 1)).toEqual([]);
    expect(all(log, 0)).toHaveLength(300);
  });

  test("appendBatch: one commit per block, positions in order, spanning blocks", () => {
    using log = open();
    log.append(bytesOf("before"));
    const batch = Array.from({ length: 200 }, (_, i) => makePayload(1, i));
    const first = log.appendBatch(batch);
    expect(log.appendBatch([])).toBe(-1);
    const read = [...log.records()];
    expect(read).toHaveLength(201);
    expect(read[1]!.position).toBe(first);
    const checker = new OrderChecker();
    for (const { bytes } of read.slice(1)) checker.accept(bytes);
    expect(checker.problems).toEqual([]);
    expect(checker.counts()).toEqual({ "1": 200 });
    expect(log.stats().blocks).toBeGreaterThan(3);
  });

  test("a large appendBatch over several 64 KiB blocks and a small one; another instance reads them all", () => {
    const path = freshPath(directory, "log");
    using writer = RecordLog.open(path, { capacity, blockSize: 65536 });
    using reader = RecordLog.open(path, { capacity });
    writer.append(makePayload(3, 0));
    const batch = Array.from({ length: 999 }, (_, i) => makePayload(3, i + 1));
    writer.appendBatch(batch); // ~155 KiB: three blocks
    writer.appendBatch([makePayload(3, 1000)]);
    const checker = new OrderChecker();
    for (const { bytes } of reader.records()) checker.accept(bytes);
    expect(checker.problems).toEqual([]);
    expect(checker.counts()).toEqual({ "3": 1001 });
    expect(reader.stats().committed.count).toBe(1001);
  });

  test("two writers in one process own separate blocks; each one's records stay in its order", () => {
    const path = freshPath(directory, "log");
    using first = open(path);
    using second = open(path);
    for (let i = 0; i < 400; i++) {
      first.append(makePayload(1, i));
      second.append(makePayload(2, i));
    }
    const checker = new OrderChecker();
    for (const { bytes } of first.records()) checker.accept(bytes);
    expect(checker.problems).toEqual([]);
    expect(checker.counts()).toEqual({ "1": 400, "2": 400 });
    const stats = first.stats();
    expect(stats.open.count).toBe(2); // each writer's current block
    expect(stats.abandoned.count).toBe(0); // both alive: neither block is judged dead
  });

  test("128 writers at once; the 129th gets ERR_LOG_TOO_MANY_WRITERS until one closes; readers take no slot", () => {
    const path = freshPath(directory, "log");
    const writers = Array.from({ length: 128 }, () => open(path));
    try {
      writers.forEach((writer, index) => writer.append(bytesOf(`writer ${index}`)));
      using reader = open(path);
      expect([...reader.records()]).toHaveLength(128);
      using extra = open(path);
      expectArenaError(() => extra.append(bytesOf("one too many")), "ERR_LOG_TOO_MANY_WRITERS");
      writers.pop()!.close();
      extra.append(bytesOf("now there is room"));
      expect([...reader.records()].map((r) => text(r.bytes))).toContain("now there is room");
      expect(reader.stats().open.count).toBe(128);
    } finally {
      for (const writer of writers) writer.close();
    }
  });

  test("a reopened log holds every record; its stored block size wins", () => {
    const path = freshPath(directory, "log");
    const log = open(path);
    for (let i = 0; i < 100; i++) log.append(bytesOf(`keep ${i}`));
    log.close();
    using again = RecordLog.open(path, { capacity: 2 * capacity, blockSize: 65536 });
    expect(again.blockSize).toBe(blockSize);
    expect(again.capacity).toBe(capacity);
    expect(all(again).map((r) => r.text)).toEqual(Array.from({ length: 100 }, (_, i) => `keep ${i}`));
    const stats = again.stats();
    expect(stats.sealed.count).toBe(stats.blocks); // close() sealed the last block
    again.append(bytesOf("more"));
    expect(all(again).at(-1)!.text).toBe("more");
  });

  test("a full log throws ERR_ARENA_FULL and keeps what it holds", () => {
    using log = RecordLog.open(freshPath(directory, "log"), { capacity: 4096 + 3 * blockSize, blockSize });
    const record = new Uint8Array(1000);
    let appended = 0;
    expectArenaError(() => {
      for (;;) {
        log.append(record);
        appended += 1;
      }
    }, "ERR_ARENA_FULL");
    expect(appended).toBe(3 * 4); // four 1004-byte records per 4 KiB block
    expect([...log.records()]).toHaveLength(appended);
    expectArenaError(() => log.appendBatch([record]), "ERR_ARENA_FULL");
    expect(log.stats().holes.count).toBe(0);
  });
});

describe("follow", () => {
  test("yields what is there, then records as they are committed, until aborted", async () => {
    const path = freshPath(directory, "log");
    using writer = open(path);
    using reader = open(path);
    writer.append(bytesOf("early"));
    const stop = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const { bytes } of reader.follow(0, { signal: stop.signal })) {
        seen.push(text(bytes));
        if (seen.length === 3) stop.abort();
      }
    })();
    await Bun.sleep(5);
    writer.append(bytesOf("late 1"));
    await Bun.sleep(5);
    writer.appendBatch([bytesOf("late 2"), bytesOf("not read")]);
    await following;
    expect(seen).toEqual(["early", "late 1", "late 2"]);
  });

  test("an abort while it waits ends it at once", async () => {
    using log = open();
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 20);
    const started = performance.now();
    for await (const _ of log.follow(0, { signal: stop.signal })) throw new Error("nothing was appended");
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  test("follow(from) skips the records before from", async () => {
    using log = open();
    const positions = Array.from({ length: 50 }, (_, i) => log.append(bytesOf(`r${i}`)));
    const stop = new AbortController();
    const seen: string[] = [];
    for await (const { bytes } of log.follow(positions[40], { signal: stop.signal })) {
      seen.push(text(bytes));
      if (seen.length === 10) stop.abort();
    }
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `r${i + 40}`));
  });

  test("passes a hole (a block claimed and never stamped) once nobody is claiming", async () => {
    const path = freshPath(directory, "log");
    using log = open(path);
    log.append(bytesOf("before"));
    log.close();
    // A claim by something that is not a log writer: no stamp will ever come.
    const arena = MappedFileRegionArena.create(path, { capacity, headerOffset: 4064 });
    arena.allocateOffset(blockSize);
    arena.close();
    using again = open(path);
    again.append(bytesOf("after"));
    const stop = new AbortController();
    const seen: string[] = [];
    for await (const { bytes } of again.follow(0, { signal: stop.signal })) {
      seen.push(text(bytes));
      if (seen.length === 2) stop.abort();
    }
    expect(seen).toEqual(["before", "after"]);
    expect(again.stats().holes).toEqual({ count: 1, bytes: blockSize });
  });
});

describe("arguments and close", () => {
  test("wrong arguments are TypeError or RangeError naming the argument, before anything is created", () => {
    const path = freshPath(directory, "log");
    expect(() => RecordLog.open(path, { capacity: 1 << 20, blockSize: 5000 })).toThrow(/options\.blockSize/);
    expect(() => RecordLog.open(path, { capacity: 4096 })).toThrow(RangeError);
    expect(() => RecordLog.open(path, { capacity: "big" as unknown as number })).toThrow(TypeError);
    expect(() => RecordLog.open(path, null as unknown as { capacity: number })).toThrow(TypeError);
    expect(() => RecordLog.open("", { capacity })).toThrow(RangeError);
    expect(Bun.file(path).size).toBe(0); // never created
    using log = open(path);
    expect(() => log.append("text" as unknown as Uint8Array)).toThrow(/bytes must be a Uint8Array/);
    expect(() => log.append(new Uint8Array(log.maxRecordBytes + 1))).toThrow(/bytes\.length/);
    expect(() => log.appendBatch([new Uint8Array(1), "x" as unknown as Uint8Array])).toThrow(/records\[1\]/);
    expect(() => log.appendBatch([new Uint8Array(1), new Uint8Array(blockSize)])).toThrow(RangeError);
    expect(() => log.records(-1)).toThrow(RangeError);
    expect(() => log.follow(1.5)).toThrow(RangeError);
    expect(() => log.follow(0, { signal: "stop" as unknown as AbortSignal })).toThrow(/options\.signal/);
    expect([...log.records()]).toEqual([]); // the failed batch wrote nothing
  });

  test("after close every method throws ERR_ARENA_CLOSED and old views read as empty", () => {
    const log = open();
    log.append(bytesOf("hello"));
    const [record] = [...log.records()];
    log.close();
    log.close();
    expect(log.closed).toBe(true);
    expect(record!.bytes.length).toBe(0);
    expectArenaError(() => log.append(bytesOf("x")), "ERR_ARENA_CLOSED");
    expectArenaError(() => log.appendBatch([bytesOf("x")]), "ERR_ARENA_CLOSED");
    expectArenaError(() => log.records(), "ERR_ARENA_CLOSED");
    expectArenaError(() => log.follow(), "ERR_ARENA_CLOSED");
    expectArenaError(() => log.stats(), "ERR_ARENA_CLOSED");
    expectArenaError(() => log.sync(), "ERR_ARENA_CLOSED");
  });

  test("sync() writes the records to the file", () => {
    const path = freshPath(directory, "log");
    using log = open(path);
    log.append(bytesOf("durable"));
    log.sync();
    expect(Buffer.from(require("node:fs").readFileSync(path)).includes(Buffer.from("durable"))).toBe(true);
  });
});
