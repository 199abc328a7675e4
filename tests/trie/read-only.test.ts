/**
 * Issue 13 item 2 for the trie and the data pool: openReadOnly finds, iterates,
 * validates and gets; insert and allocate throw ERR_ARENA_READ_ONLY; nothing on
 * disk changes, also on a read-only mount. The reading happens in a child
 * (children/trie-read-only-reader.ts), so a crash is a reported signal.
 * The arena's own read-only tests (tests/arena/read-only.test.ts) hold the
 * broken variant for the writer-close race; here the same race runs with a trie.
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { OnDiskDataAllocator, OnDiskTrieRawHashMap } from "../../lib/index.ts";
import { expectArenaError } from "../support/expect.ts";
import { finished, lineReader, spawnChild, type ChildResult } from "../support/processes.ts";
import { withReadOnlyMount } from "../support/read-only-mount.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("trie-read-only-");
const capacity = 8 * 1024 * 1024;
const count = 2000;

function hashOf(i: number): Uint8Array {
  return new Uint8Array(createHash("sha256").update(`record ${i}`).digest());
}

function openTrie(path: string): OnDiskTrieRawHashMap {
  return OnDiskTrieRawHashMap.create(path, { name: "index", hashBits: 256, dataBytes: 8, capacity });
}

function insertRecords(trie: OnDiskTrieRawHashMap, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    trie.insert(hashOf(i), (data) => new DataView(data.buffer, data.byteOffset, 8).setBigUint64(0, BigInt(i), true));
  }
}

/** A closed trie of `count` records and a closed pool of `count` 16-byte blocks; returns the block offsets. */
function makeFiles(triePath: string, poolPath: string): number[] {
  using trie = openTrie(triePath);
  insertRecords(trie, 0, count);
  using pool = OnDiskDataAllocator.create(poolPath, { name: "data", capacity });
  return Array.from({ length: count }, (_, i) => {
    const block = pool.allocate(16);
    block.data.fill(i & 0xff);
    return block.offset;
  });
}

function reportOf(result: ChildResult): Record<string, any> {
  if (result.exitCode !== 0) throw new Error(`reader failed (${result.exitCode ?? result.signalCode}): ${result.stderr}`);
  const lines = result.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!);
}

function readerArgs(triePath: string, poolPath: string, records: number, offsets: number[], steps: string[]) {
  return [triePath, poolPath, records, JSON.stringify(offsets), ...steps];
}

async function runReader(triePath: string, poolPath: string, offsets: number[], steps: string[]): Promise<ChildResult> {
  const child = spawnChild("trie-read-only-reader.ts", readerArgs(triePath, poolPath, count, offsets, steps));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    return await finished(child);
  } finally {
    clearTimeout(timer);
  }
}

const allRefused = {
  insertPresent: "ERR_ARENA_READ_ONLY",
  insertNew: "ERR_ARENA_READ_ONLY",
  poolAllocate: "ERR_ARENA_READ_ONLY",
  poolAllocateOffset: "ERR_ARENA_READ_ONLY",
};

function expectEverythingRead(report: Record<string, any>, records = count): void {
  expect(report.readOnly).toEqual([true, true]);
  expect(report.found).toBe(records);
  expect(report.foundThroughReused).toBe(records);
  expect(report.dataRight).toBe(records);
  expect(report.iterated).toBe(records);
  expect(report.validated).toBe(records);
  expect(report.blocksRight).toBe(count);
}

describe("a closed trie and pool, opened read-only", () => {
  test("find, iteration, validate and get see everything; insert and allocate refuse; the files do not change", async () => {
    const triePath = freshPath(directory, "trie");
    const poolPath = freshPath(directory, "pool");
    const offsets = makeFiles(triePath, poolPath);
    rmSync(`${triePath}.shared`);
    const trieBefore = readFileSync(triePath);
    const poolBefore = readFileSync(poolPath);

    const report = reportOf(await runReader(triePath, poolPath, offsets, ["open", "read", "refuse", "scribble", "close"]));
    expectEverythingRead(report);
    expect(report.refused).toEqual(allRefused);
    expect(report.scribbleStaysInItsView).toBe(true);
    expect(report.laterViewsReadTheFile).toBe(true);

    expect(readFileSync(triePath).equals(trieBefore)).toBe(true);
    expect(readFileSync(poolPath).equals(poolBefore)).toBe(true);
    expect(existsSync(`${triePath}.shared`)).toBe(false);
  });

  test("what the file must be is checked as for a writer: name, shape, kind", () => {
    const triePath = freshPath(directory, "trie");
    const poolPath = freshPath(directory, "pool");
    makeFiles(triePath, poolPath);
    const open = (options: Partial<Parameters<typeof OnDiskTrieRawHashMap.openReadOnly>[1]>) =>
      OnDiskTrieRawHashMap.openReadOnly(triePath, { name: "index", hashBits: 256, dataBytes: 8, ...options });
    expectArenaError(() => open({ name: "other" }), "ERR_ARENA_HEADER_MISMATCH");
    expectArenaError(() => open({ hashBits: 128 }), "ERR_ARENA_HEADER_MISMATCH");
    expectArenaError(() => open({ dataBytes: 16 }), "ERR_ARENA_HEADER_MISMATCH");
    expect(() => open({ hashBits: 7 })).toThrow(RangeError);
    expectArenaError(() => OnDiskTrieRawHashMap.openReadOnly(poolPath, { name: "data", hashBits: 256, dataBytes: 8 }), "ERR_ARENA_HEADER_MISMATCH");
    expectArenaError(() => OnDiskDataAllocator.openReadOnly(poolPath, { name: "data", userHeaderBytes: 8 }), "ERR_ARENA_HEADER_MISMATCH");
    expectArenaError(() => OnDiskDataAllocator.openReadOnly(join(directory, "missing.db"), { name: "data" }), "ENOENT");
    expect(existsSync(join(directory, "missing.db"))).toBe(false);
  });

  test("a missing file is ENOENT saying that no writer has created it yet, and what would", () => {
    const missing = join(directory, "not-created.db");
    const expected = (kind: string) =>
      `${missing} does not exist: no ${kind} file has been created there yet; a writer creates it with ${kind}.create(path, options) (openReadOnly never creates one)`;
    const trie = expectArenaError(() => OnDiskTrieRawHashMap.openReadOnly(missing, { name: "index", hashBits: 256, dataBytes: 8 }), "ENOENT");
    expect(trie.message).toBe(expected("OnDiskTrieRawHashMap"));
    expect(trie).toMatchObject({ path: missing, syscall: "open" });
    expect(expectArenaError(() => OnDiskDataAllocator.openReadOnly(missing, { name: "data" }), "ENOENT").message).toBe(expected("OnDiskDataAllocator"));
    expect(existsSync(missing)).toBe(false);
  });
});

describe("a reader beside a writer", () => {
  /**
   * The reader opens (while a writer has the trie open, or on the closed file),
   * then a writer inserts `count` more records (sinking many of the first) and
   * closes; then the reader finds all 2 * count. The writer's close would shrink
   * the file under the reader if the reader held no lock.
   */
  async function readerThenWriterInserts(writerOpenFirst: boolean): Promise<void> {
    const triePath = freshPath(directory, "trie");
    const poolPath = freshPath(directory, "pool");
    const offsets = makeFiles(triePath, poolPath);
    const closedBytes = statSync(triePath).size;
    let writer = writerOpenFirst ? openTrie(triePath) : undefined; // full capacity: the reader maps all of it
    const child = spawnChild("trie-read-only-reader.ts", readerArgs(triePath, poolPath, 2 * count, offsets, ["open", "wait", "read", "close"]));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const stdout = lineReader(child.stdout);
    await stdout.waitFor((line) => line === "waiting", 60_000);
    writer ??= openTrie(triePath);
    insertRecords(writer, count, 2 * count);
    const writerSize = writer.size;
    expect(writerSize).toBeGreaterThan(closedBytes);
    writer.close();
    expect(statSync(triePath).size).toBe(capacity);
    child.stdin.write("go\n");
    child.stdin.end();
    const line = await stdout.waitFor((text) => text.startsWith("{"), 60_000).catch(() => "");
    await child.exited;
    clearTimeout(timer);
    const stderr = await new Response(child.stderr).text();
    const report = reportOf({ exitCode: child.exitCode, signalCode: child.signalCode, stdout: line, stderr });
    expectEverythingRead(report, 2 * count);
    // The reader has gone: the next writer to close is the last and shrinks.
    openTrie(triePath).close();
    expect(statSync(triePath).size).toBe(writerSize);
  }

  test("opened while a writer has the trie open: it sees the writer's later inserts, and survives its close", async () => {
    await readerThenWriterInserts(true);
  });

  test("opened on the closed (shrunk) trie: it maps the grown file again and sees the later inserts", async () => {
    await readerThenWriterInserts(false);
  });
});

describe("a read-only mount (EROFS)", () => {
  test("the trie and the pool read as from any other disk", async () => {
    const root = join(directory, "ro-mount");
    const triePath = join(root, "index.db");
    const poolPath = join(root, "data.db");
    let offsets: number[] = [];
    await withReadOnlyMount(root, () => void (offsets = makeFiles(triePath, poolPath)), async () => {
      expectArenaError(() => openTrie(triePath), "EROFS");
      const report = reportOf(await runReader(triePath, poolPath, offsets, ["open", "read", "refuse", "scribble", "close"]));
      expectEverythingRead(report);
      expect(report.refused).toEqual(allRefused);
      expect(report.scribbleStaysInItsView).toBe(true);
    expect(report.laterViewsReadTheFile).toBe(true);
    });
  });
});
