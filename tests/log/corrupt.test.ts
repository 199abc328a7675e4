// Files that are not logs are refused with an ArenaError and left as they were;
// damaged blocks inside a log are skipped, counted by stats(), and passed by
// followers; random damage never crashes, hangs or throws anything else.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { MappedFileRegionArena, OnDiskDataAllocator, OnDiskTrieRawHashMap, RecordLog, type ArenaErrorCode } from "../../lib/index.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";
import { expectArenaError } from "../support/expect.ts";
import { createTempDirectory, removeDirectory } from "../support/temp.ts";
import { spawnLogChild } from "./support/children.ts";
import { finished } from "../support/processes.ts";

const directory = tempDirectory("log-corrupt-");
const capacity = 4 * 1024 * 1024;
const blockSize = 4096;
const bytesOf = (value: string) => new TextEncoder().encode(value);

/** Opening `path` as a log must fail with `code` and leave the file's bytes as they were. */
function expectRefusedUntouched(path: string, code: ArenaErrorCode) {
  const before = readFileSync(path);
  const error = expectArenaError(() => RecordLog.open(path, { capacity, blockSize }), code);
  expect(Buffer.compare(readFileSync(path), before)).toBe(0);
  return error;
}

describe("files that are not record logs", () => {
  test("random bytes, text, an arena: ERR_LOG_CORRUPT naming the magic, untouched", () => {
    const random = freshPath(directory, "random");
    writeFileSync(random, Buffer.from(Array.from({ length: 9000 }, (_, i) => (i * 7919 + 13) & 0xff)));
    const text = freshPath(directory, "text");
    writeFileSync(text, "hello, this is not a log\n");
    const arena = freshPath(directory, "arena");
    const plain = MappedFileRegionArena.create(arena, { capacity });
    plain.append(bytesOf("not a log"));
    plain.close();
    for (const path of [random, text]) {
      expect(expectRefusedUntouched(path, "ERR_LOG_CORRUPT").message).toContain("magic");
    }
    expect(expectRefusedUntouched(arena, "ERR_LOG_CORRUPT").message).toBe(
      `${arena} is not a record log: it is an arena with its header at offset 0 (a log's is at 4064); it was left untouched`,
    );
  });

  test("the library's other files, a trie and a data pool, are named as what they are, by open and openReadOnly, untouched", () => {
    const trie = freshPath(directory, "trie");
    OnDiskTrieRawHashMap.create(trie, { name: "index", hashBits: 256, dataBytes: 8, capacity }).close();
    const pool = freshPath(directory, "pool");
    OnDiskDataAllocator.create(pool, { name: "data", capacity }).close();
    const cases = [
      [trie, "an LLVM database file holding a trie (OnDiskTrieRawHashMap)"],
      [pool, "an LLVM database file holding a data allocator (OnDiskDataAllocator)"],
    ] as const;
    for (const [path, kind] of cases) {
      const message = `${path} is not a record log: it is ${kind}; it was left untouched`;
      expect(expectRefusedUntouched(path, "ERR_LOG_CORRUPT").message).toBe(message);
      const before = readFileSync(path);
      expect(expectArenaError(() => RecordLog.openReadOnly(path), "ERR_LOG_CORRUPT").message).toBe(message);
      expect(Buffer.compare(readFileSync(path), before)).toBe(0);
    }
  });

  test("an arena at the log's header offset without the log's header: ERR_LOG_CORRUPT, untouched", () => {
    const path = freshPath(directory, "arena");
    const arena = MappedFileRegionArena.create(path, { capacity, headerOffset: 4064 });
    arena.append(bytesOf("not a log either"));
    arena.close();
    expect(expectRefusedUntouched(path, "ERR_LOG_CORRUPT").message).toContain("magic");
  });

  test("zeros: left to the arena's judgement (an interrupted creation is redone), here refused, untouched", () => {
    const path = freshPath(directory, "zeros");
    writeFileSync(path, new Uint8Array(8192));
    const before = readFileSync(path);
    let code = "";
    try {
      RecordLog.open(path, { capacity, blockSize }).close();
    } catch (error) {
      code = (error as { code: string }).code;
    }
    expect(code).toMatch(/^ERR_ARENA_/);
    expect(Buffer.compare(readFileSync(path), before)).toBe(0);
  });

  test("a log header with a wrong version or block size: ERR_LOG_CORRUPT, untouched", () => {
    for (const [offset, value, words] of [[8, 2, "version 2"], [12, 5000, "block size 5000"]] as const) {
      const path = freshPath(directory, "log");
      RecordLog.open(path, { capacity, blockSize }).close();
      const bytes = readFileSync(path);
      bytes.writeUInt32LE(value, offset);
      writeFileSync(path, bytes);
      expect(expectRefusedUntouched(path, "ERR_LOG_CORRUPT").message).toContain(words);
    }
  });
});

describe("damaged blocks in a log", () => {
  test("impossible owner, commit word and record length: each block skipped, counted, passed by follow", async () => {
    const path = freshPath(directory, "log");
    const log = RecordLog.open(path, { capacity, blockSize });
    const per = 400; // records of 16 + 4 bytes: 204 per block, so blocks 0..3 hold "a", "b", ...
    for (let i = 0; i < 4 * per / 2; i++) log.append(bytesOf(`record ${String(i).padStart(8, "0")}`));
    log.close();
    const bytes = readFileSync(path);
    const block = (index: number) => 4096 + index * blockSize;
    bytes.writeInt32LE(999, block(0)); // owner: no such slot
    bytes.writeInt32LE(0x7fff_fff0, block(1) + 8); // commit: past the block
    bytes.writeUInt32LE(100_000, block(2) + 16); // first record's length: past the commit
    writeFileSync(path, bytes);

    using damaged = RecordLog.open(path, { capacity, blockSize });
    const scanned = [...damaged.records()].map(({ bytes }) => new TextDecoder().decode(bytes));
    const visited: string[] = [];
    damaged.forEachRecord((block, start, end) => void visited.push(new TextDecoder().decode(block.subarray(start, end))));
    expect(visited).toEqual(scanned);
    const stats = damaged.stats();
    expect(stats.corrupt.count).toBe(3);
    expect(scanned.length).toBe(stats.committed.count);
    expect(scanned.length).toBeGreaterThan(0);
    const stop = new AbortController();
    const followed: string[] = [];
    for await (const { bytes } of damaged.follow(0, { signal: stop.signal })) {
      followed.push(new TextDecoder().decode(bytes));
      if (followed.length === scanned.length) stop.abort();
    }
    expect(followed).toEqual(scanned);
  });

  test("random damage, 150 copies: only ArenaErrors, no hang, follow reaches what records() finds", async () => {
    const fuzzDirectory = createTempDirectory("log-fuzz-");
    try {
      const child = spawnLogChild("fuzz-reader.ts", [fuzzDirectory, 150, 424242]);
      const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
      const result = await finished(child);
      clearTimeout(timer);
      expect(result.stderr).toBe("");
      expect(result.exitCode).toBe(0);
      const summary = JSON.parse(result.stdout);
      expect(summary.errors).toEqual([]);
      expect(summary.stalls).toBe(0);
      expect(summary.cases).toBe(150);
      expect(summary.corruptBlocks).toBeGreaterThan(0); // the damage was seen
      expect(summary.records).toBeGreaterThan(0);
    } finally {
      removeDirectory(fuzzDirectory);
    }
  }, 150_000);
});
