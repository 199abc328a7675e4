/**
 * OnDiskTrieRawHashMap's and OnDiskDataAllocator's API in one process: insert /
 * find / reopen, the initializer's once-only rule, argument errors, header
 * mismatches, validate and iteration; blocks and the user header. Mirrors
 * lib/trie/trie-raw-hash-map.ts and lib/trie/data-allocator.ts.
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { main } from "../../lib/cli/cli.ts";
import { OnDiskDataAllocator, OnDiskTrieRawHashMap, RecordLog } from "../../lib/index.ts";
import { expectArenaError } from "../support/expect.ts";
import { expectSameFiles, snapshot } from "../support/file-snapshot.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("trie-api-");
const MiB = 1024 * 1024;

function sha256(text: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text).digest());
}

function indexTrie(path: string, extra: Partial<Parameters<typeof OnDiskTrieRawHashMap.create>[1]> = {}) {
  return OnDiskTrieRawHashMap.create(path, { name: "index", hashBits: 256, dataBytes: 8, capacity: 16 * MiB, ...extra });
}

describe("insert and find", () => {
  test("an empty trie finds nothing; an inserted hash is found with its data, here and after reopening", () => {
    const path = freshPath(directory);
    {
      using map = indexTrie(path);
      expect(map.rootBits).toBe(10);
      expect(map.subtrieBits).toBe(6);
      expect(map.find(sha256("a"))).toBeNull();
      expect(map.findOffset(sha256("a"))).toBe(-1);
      const record = map.insert(sha256("a"), (data) => data.set([9, 8, 7]));
      expect(record.offset % 8).toBe(0);
      expect(record.hash).toEqual(sha256("a"));
      expect([...record.data]).toEqual([9, 8, 7, 0, 0, 0, 0, 0]);
      expect(map.find(sha256("a"))?.offset).toBe(record.offset);
      expect(map.find(sha256("b"))).toBeNull();
    }
    using again = indexTrie(path);
    const found = again.find(sha256("a"));
    expect(found?.offset).toBeGreaterThan(0);
    expect([...found!.data]).toEqual([9, 8, 7, 0, 0, 0, 0, 0]);
  });

  test("inserting a present hash returns the existing record and does not run the initializer", () => {
    using map = indexTrie(freshPath(directory));
    const first = map.insert(sha256("x"), (data) => data.fill(1));
    let ran = 0;
    const second = map.insert(sha256("x"), () => void ran++);
    expect(ran).toBe(0);
    expect(second.offset).toBe(first.offset);
    expect([...second.data]).toEqual(new Array(8).fill(1));
    expect(map.leaks).toEqual({ records: 0, subtries: 0, bytes: 0 });
  });

  test("an initializer may insert other hashes (and the outer insert still publishes its own record)", () => {
    using map = indexTrie(freshPath(directory));
    const outer = map.insert(sha256("outer"), (data) => {
      data[0] = 1;
      map.insert(sha256("inner"), (inner) => void (inner[0] = 2));
    });
    expect(map.find(sha256("outer"))?.offset).toBe(outer.offset);
    expect(map.find(sha256("inner"))?.data[0]).toBe(2);
    expect(outer.data[0]).toBe(1);
    expect(map.leaks.records).toBe(0);
    expect(map.validate()).toMatchObject({ records: 2, leakedBytes: 0 });
  });

  test("many hashes, sharing prefixes at every level, are all found and validate cleanly", () => {
    using map = OnDiskTrieRawHashMap.create(freshPath(directory), { name: "t", hashBits: 32, dataBytes: 4, capacity: 16 * MiB, rootBits: 4, subtrieBits: 2 });
    const hashes: Uint8Array[] = [];
    for (let index = 0; index < 3000; index++) {
      // Counting in the low bits, with a few high-bit patterns: long shared prefixes.
      const hash = new Uint8Array([index % 3 === 0 ? 0xff : 0x00, 0, (index >> 8) & 0xff, index & 0xff]);
      hashes.push(hash);
      const record = map.insert(hash, (data) => new DataView(data.buffer, data.byteOffset).setUint32(0, index, true));
      expect(record.hash).toEqual(hash);
    }
    hashes.forEach((hash, index) => {
      const found = map.find(hash);
      expect(found).not.toBeNull();
      expect(new DataView(found!.data.buffer, found!.data.byteOffset).getUint32(0, true)).toBe(index);
    });
    const seen: number[] = [];
    const report = map.validate((record) => void seen.push(record.offset));
    expect(report.records).toBe(3000);
    expect(report.leakedBytes).toBe(0);
    expect(report.reachableBytes).toBe(report.usedBytes);
    expect(seen.length).toBe(3000);
    // Iteration and validate visit the same records, in hash order (the hash's bits, most significant first).
    const iterated = [...map];
    expect(iterated.map((record) => record.offset)).toEqual(seen);
    const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
    expect(iterated.map((record) => hex(record.hash))).toEqual(hashes.map(hex).sort());
  });

  test("a 1-byte hash under a 10-bit root (LLVM's unit test shape) uses the hash's 8 bits as the index", () => {
    using map = OnDiskTrieRawHashMap.create(freshPath(directory), { name: "index", hashBits: 8, dataBytes: 8, capacity: MiB });
    for (let byte = 0; byte < 256; byte++) map.insert(new Uint8Array([byte]));
    for (let byte = 0; byte < 256; byte++) expect(map.find(new Uint8Array([byte]))?.hash[0]).toBe(byte);
    expect(map.validate()).toMatchObject({ records: 256, subtries: 1, leakedBytes: 0 });
  });
});

describe("size", () => {
  test("is bytes (the bump pointer), not a record or block count: validate().records and iteration count records", () => {
    using map = indexTrie(freshPath(directory));
    const empty = map.size;
    for (const text of ["a", "b", "c"]) map.insert(sha256(text));
    // Each record is its 32-byte hash and 8 bytes of data (these three share no root slot: no subtrie is made).
    expect(map.size - empty).toBe(3 * 40);
    expect(map.validate().records).toBe(3);
    expect([...map].length).toBe(3);
    using pool = OnDiskDataAllocator.create(freshPath(directory), { name: "data", capacity: MiB });
    const before = pool.size;
    pool.allocate(10);
    expect(pool.size - before).toBe(16); // 8-aligned
  });
});

describe("recoverFromOffset", () => {
  test("returns the record at a stored offset and refuses offsets that are not records", () => {
    using map = indexTrie(freshPath(directory));
    const record = map.insert(sha256("r"), (data) => data.fill(7));
    expect(map.recoverFromOffset(record.offset).hash).toEqual(sha256("r"));
    expectArenaError(() => map.recoverFromOffset(record.offset + 4), "ERR_ARENA_CORRUPT");
    expectArenaError(() => map.recoverFromOffset(record.offset + 8), "ERR_ARENA_CORRUPT"); // past the bump pointer
    const error = expectArenaError(() => map.recoverFromOffset(8), "ERR_ARENA_CORRUPT"); // inside the headers
    // A made-up offset and one read from a damaged file look the same: the message names both.
    expect(error.message).toContain("offset 0x8 is not a record this file handed out (");
    expect(error.message).toEndWith("): a wrong offset, or one read from a damaged file");
    expect(() => map.recoverFromOffset(-8)).toThrow(RangeError);
  });
});

describe("wrong arguments and mismatched files", () => {
  test("bad options are TypeError or RangeError naming the option, and create no file", () => {
    const path = freshPath(directory);
    expect(() => indexTrie(path, { hashBits: 12 })).toThrow(/options.hashBits/);
    expect(() => indexTrie(path, { rootBits: 17 })).toThrow(/options.rootBits/);
    expect(() => indexTrie(path, { subtrieBits: 0 })).toThrow(/options.subtrieBits/);
    expect(() => indexTrie(path, { dataBytes: -1 })).toThrow(RangeError);
    expect(() => indexTrie(path, { name: "" })).toThrow(RangeError);
    expect(() => indexTrie(path, { capacity: 2 ** 33 })).toThrow(/options.capacity/);
    expect(existsSync(path)).toBe(false);
  });

  test("a hash of the wrong size or type is refused", () => {
    using map = indexTrie(freshPath(directory));
    expect(() => map.find(new Uint8Array(31))).toThrow(RangeError);
    expect(() => map.insert("abc" as never)).toThrow(TypeError);
    expect(() => map.insert(sha256("a"), 5 as never)).toThrow(TypeError);
  });

  test("opening with another name, hash size or data size is ERR_ARENA_HEADER_MISMATCH saying what differs", () => {
    const path = freshPath(directory);
    indexTrie(path).close();
    expect(expectArenaError(() => indexTrie(path, { name: "other" }), "ERR_ARENA_HEADER_MISMATCH").message).toMatch(/"index", not "other"/);
    expect(expectArenaError(() => indexTrie(path, { hashBits: 128 }), "ERR_ARENA_HEADER_MISMATCH").message).toMatch(/hash size \(expected: 128, observed: 256\)/);
    expect(expectArenaError(() => indexTrie(path, { dataBytes: 16 }), "ERR_ARENA_HEADER_MISMATCH").message).toMatch(/data size \(expected: 16, observed: 8\)/);
    // Root and subtrie bits are hints for a new file, as in LLVM.
    using reopened = indexTrie(path, { rootBits: 4, subtrieBits: 3 });
    expect(reopened.rootBits).toBe(10);
    expect(reopened.subtrieBits).toBe(6);
  });

  test("a record log given to a trie or a pool (create or openReadOnly) is named as one, not as a header elsewhere, and left untouched", () => {
    const folder = join(directory, "a-log-only");
    mkdirSync(folder);
    const path = join(folder, "records.log");
    RecordLog.open(path, { capacity: MiB }).close();
    const before = snapshot(folder);
    const message = `${path} is a record log (RecordLog), with its arena header at offset 4064, not at 16`;
    const opens = [
      () => indexTrie(path),
      () => OnDiskTrieRawHashMap.openReadOnly(path, { name: "index", hashBits: 256, dataBytes: 8 }),
      () => OnDiskDataAllocator.create(path, { name: "data", capacity: MiB }),
      () => OnDiskDataAllocator.openReadOnly(path, { name: "data" }),
    ];
    for (const open of opens) expect(expectArenaError(open, "ERR_ARENA_HEADER_MISMATCH").message).toBe(message);
    expectSameFiles(before, snapshot(folder));
  });

  test("a closed trie refuses every call with ERR_ARENA_CLOSED, and its old views read as empty", () => {
    const map = indexTrie(freshPath(directory));
    const record = map.insert(sha256("c"));
    map.close();
    map.close();
    expect(map.closed).toBe(true);
    expect(record.data.length).toBe(0);
    expectArenaError(() => map.find(sha256("c")), "ERR_ARENA_CLOSED");
    expectArenaError(() => map.insert(sha256("c")), "ERR_ARENA_CLOSED");
    expectArenaError(() => map.validate(), "ERR_ARENA_CLOSED");
  });

  test("an initializer that throws leaves the hash absent, counts the leak, and rethrows", () => {
    using map = indexTrie(freshPath(directory));
    expect(() => map.insert(sha256("t"), () => { throw new Error("no"); })).toThrow("no");
    expect(map.find(sha256("t"))).toBeNull();
    expect(map.leaks.records).toBe(1);
    expect(map.validate().leakedBytes).toBe(40 /* 8 data + 32 hash */);
  });

  test("a full file is ERR_ARENA_FULL and the trie stays usable", () => {
    using map = OnDiskTrieRawHashMap.create(freshPath(directory), { name: "i", hashBits: 8, dataBytes: 8, capacity: 122, rootBits: 1, subtrieBits: 1 });
    expectArenaError(() => map.insert(new Uint8Array([0])), "ERR_ARENA_FULL");
    expect(map.find(new Uint8Array([0]))).toBeNull();
  });
});

describe("OnDiskDataAllocator", () => {
  test("allocates blocks, reads them back after reopening, and keeps the user header", () => {
    const path = freshPath(directory);
    let initialized = 0;
    const open = () =>
      OnDiskDataAllocator.create(path, { name: "data", capacity: MiB, userHeaderBytes: 16, initializeUserHeader: (header) => void (header[0] = ++initialized) });
    let block;
    {
      using pool = open();
      expect(pool.userHeader.length).toBe(16);
      expect(pool.userHeader[0]).toBe(1);
      block = pool.allocate(11);
      block.data.set(new TextEncoder().encode("hello world"));
      expect(block.offset % 8).toBe(0);
      pool.userHeader[1] = 42;
    }
    using pool = open();
    expect(initialized).toBe(1);
    expect([...pool.userHeader.subarray(0, 2)]).toEqual([1, 42]);
    expect(new TextDecoder().decode(pool.get(block.offset, 11))).toBe("hello world");
  });

  test("get accepts a block ending exactly at the bump pointer (LLVM refuses it) and refuses past it", () => {
    using pool = OnDiskDataAllocator.create(freshPath(directory), { name: "data", capacity: MiB });
    const offset = pool.allocateOffset(8);
    expect(pool.size).toBe(offset + 8);
    expect(pool.get(offset, 8).length).toBe(8);
    expect(pool.get(offset, 0).length).toBe(0);
    expect(expectArenaError(() => pool.get(offset, 9), "ERR_ARENA_CORRUPT").message).toContain(
      `offset 0x${offset.toString(16)} is not a block of 9 bytes this file handed out (the blocks lie between the table end`,
    );
    expectArenaError(() => pool.get(8, 4), "ERR_ARENA_CORRUPT"); // inside the headers
    expect(() => pool.get(-1, 4)).toThrow(RangeError);
    expect(() => pool.get(offset, 1.5)).toThrow(RangeError);
  });

  test("opening with another name, kind or user header size is ERR_ARENA_HEADER_MISMATCH", () => {
    const path = freshPath(directory);
    OnDiskDataAllocator.create(path, { name: "data", capacity: MiB, userHeaderBytes: 8 }).close();
    expectArenaError(() => OnDiskDataAllocator.create(path, { name: "other", capacity: MiB }), "ERR_ARENA_HEADER_MISMATCH");
    expectArenaError(() => OnDiskDataAllocator.create(path, { name: "data", capacity: MiB, userHeaderBytes: 4 }), "ERR_ARENA_HEADER_MISMATCH");
    const kind = expectArenaError(() => OnDiskTrieRawHashMap.create(path, { name: "data", hashBits: 64, dataBytes: 8, capacity: MiB }), "ERR_ARENA_HEADER_MISMATCH");
    expect(kind.message).toMatch(/table kind \(expected: 1, observed: 2\)/);
    using pool = OnDiskDataAllocator.create(path, { name: "data", capacity: MiB });
    expect(pool.userHeaderBytes).toBe(8);
  });

  test("a full pool is ERR_ARENA_FULL; a closed pool is ERR_ARENA_CLOSED", () => {
    const pool = OnDiskDataAllocator.create(freshPath(directory), { name: "data", capacity: 4096 });
    expectArenaError(() => pool.allocate(8192), "ERR_ARENA_FULL");
    const block = pool.allocate(16);
    pool.close();
    expect(block.data.length).toBe(0);
    expectArenaError(() => pool.allocate(8), "ERR_ARENA_CLOSED");
    expectArenaError(() => pool.get(block.offset, 16), "ERR_ARENA_CLOSED");
    expectArenaError(() => pool.userHeader, "ERR_ARENA_CLOSED");
  });
});

describe("mapped-file-arena inspect / verify on a database file", () => {
  test("recognizes a trie by its magic, shows its table and validates it whole", () => {
    const path = freshPath(directory);
    {
      using map = indexTrie(path);
      for (let index = 0; index < 100; index++) map.insert(sha256(String(index)));
    }
    const inspected = main(["inspect", path]);
    expect(inspected.exitCode).toBe(0);
    expect(inspected.stdout).toMatch(/header offset\s+16/);
    expect(inspected.stdout).toMatch(/table\s+OnDiskTrieRawHashMap "index" at offset 48/);
    expect(inspected.stdout).toMatch(/hash \/ data\s+256 bits \/ 8 bytes per record/);
    expect(inspected.stdout).toMatch(/records\s+100 in \d+ subtries/);
    const verified = main(["verify", path]);
    expect(verified).toMatchObject({ exitCode: 0, stderr: "" });
    expect(verified.stdout).toContain(`valid database file, OnDiskTrieRawHashMap "index": 100 records, 0 B leaked`);
    const json = JSON.parse(main(["verify", path, "--json"]).stdout);
    expect(json.database.trie.validation).toMatchObject({ records: 100, leakedBytes: 0 });
  });

  test("verify fails (exit 1) on a trie with a corrupt slot, saying where", () => {
    const path = freshPath(directory);
    let slot = 0;
    {
      using map = OnDiskTrieRawHashMap.create(path, { name: "i", hashBits: 8, dataBytes: 8, capacity: MiB, rootBits: 2, subtrieBits: 1 });
      map.insert(new Uint8Array([0]));
      // Root right after the 40-byte table at 48; slot 0 right after its 8-byte header.
      slot = 48 + 40 + 8;
    }
    const fd = openSync(path, "r+");
    writeSync(fd, new Uint8Array([0xf8, 0xff, 0, 0, 0, 0, 0, 0]), 0, 8, slot);
    closeSync(fd);
    const result = main(["verify", path]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/INVALID \(ERR_ARENA_CORRUPT\): .*offset 0x60/);
  });

  test("shows a data allocator's user header and blocks", () => {
    const path = freshPath(directory);
    {
      using pool = OnDiskDataAllocator.create(path, { name: "data", capacity: MiB, userHeaderBytes: 8 });
      pool.allocate(100);
    }
    const result = main(["inspect", path]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/table\s+OnDiskDataAllocator "data"/);
    expect(result.stdout).toMatch(/blocks\s+104 B after the table/);
  });

  test("an explicit --header-offset 0 reads it as a plain arena, at 16 where its header is", () => {
    const path = freshPath(directory);
    indexTrie(path).close();
    // inspect looks where the header is and says so (issue 13, point 4); verify checks the offset asked for.
    const result = main(["inspect", path, "--header-offset", "0"]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/header offset\s+16 \(found here, not at 0\)/);
    const verify = main(["verify", path, "--header-offset", "0"]);
    expect(verify.exitCode).toBe(1);
    expect(verify.stderr).toContain("is an LLVM database file holding a trie (OnDiskTrieRawHashMap), with its arena header at offset 16, not at 0");
  });
});

describe("examples/index-files.ts", () => {
  test("indexes a folder with duplicate contents once each, reads every file back, and adds nothing on a second run", () => {
    const folder = join(directory, "files-to-index");
    mkdirSync(join(folder, "nested"), { recursive: true });
    for (let index = 0; index < 30; index++) writeFileSync(join(folder, `file-${index}.txt`), `content ${index % 10}\n`);
    writeFileSync(join(folder, "nested", "empty"), "");
    const out = join(directory, "index-out");
    const example = join(import.meta.dir, "..", "..", "examples", "index-files.ts");
    const run = () => Bun.spawnSync([process.execPath, example, folder, "--index", out], { stdout: "pipe", stderr: "pipe" });
    const first = run();
    expect(first.stderr.toString()).toBe("");
    expect(first.exitCode).toBe(0);
    expect(first.stdout.toString()).toContain("31 files under");
    expect(first.stdout.toString()).toContain("11 new contents stored");
    expect(first.stdout.toString()).toContain("31/31 files read back through the index and verified; unknown hash not found");
    const second = run();
    expect(second.exitCode).toBe(0);
    expect(second.stdout.toString()).toContain("0 new contents stored (0 bytes), 31 already indexed");
    expect(second.stdout.toString()).toContain("index-files: ok");
  });
});
