/**
 * The exact bytes of small trie files, against the layout in docs/DESIGN.md (the trie)
 * (LLVM's DatabaseFile + OnDiskTrieRawHashMap). Each file is closed before it is
 * read, so the last close has truncated it to its bump pointer.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { OnDiskDataAllocator, OnDiskTrieRawHashMap, type ArenaErrorCode } from "../../lib/index.ts";
import { expectArenaError } from "../support/expect.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("trie-format-");

/** Little-endian bytes of `value` in `width` bytes (two's complement for negatives). */
function le(value: number | bigint, width: number): number[] {
  let v = BigInt.asUintN(width * 8, BigInt(value));
  const out: number[] = [];
  for (let index = 0; index < width; index++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

function slice(file: Uint8Array, start: number, end: number): number[] {
  return [...file.subarray(start, end)];
}

/** A 16-bit-hash trie with 8 data bytes, a 2-bit root and 1-bit subtries: small enough to spell out. */
function smallTrie(path: string) {
  return OnDiskTrieRawHashMap.create(path, { name: "index", hashBits: 16, dataBytes: 8, capacity: 64 * 1024, rootBits: 2, subtrieBits: 1 });
}

describe("a trie file with one record", () => {
  const path = freshPath(directory, "one");
  {
    using map = smallTrie(path);
    map.insert(new Uint8Array([0xc0, 0x01]), (data) => data.set([1, 2, 3, 4, 5, 6, 7, 8]));
  }
  const file = new Uint8Array(readFileSync(path));

  test("is 144 bytes: headers 48, table 40, root subtrie 40, record 16", () => {
    expect(file.length).toBe(144);
  });

  test("starts with the DatabaseFile header: magic, version, root table offset", () => {
    expect(slice(file, 0, 4)).toEqual([0x53, 0xba, 0x7a, 0xda]); // 0xDA7ABA53
    expect(slice(file, 4, 8)).toEqual(le(1, 4));
    expect(slice(file, 8, 16)).toEqual(le(48, 8));
  });

  test("has the arena header at offset 16", () => {
    expect(slice(file, 16, 24)).toEqual(le(144, 8)); // bumpPtr
    expect(slice(file, 32, 40)).toEqual(le(64 * 1024, 8)); // capacity
    expect(slice(file, 40, 48)).toEqual(le(16, 8)); // headerOffset
  });

  test("has the trie table header and its name at 48", () => {
    expect(slice(file, 48, 56)).toEqual([...le(1, 2), ...le(5, 2), ...le(32, 4)]); // kind, name size, name offset
    expect(slice(file, 56, 64)).toEqual([1, 0, ...le(16, 2), ...le(8, 4)]); // subtrie bits, flags, hash bits, data size
    expect(slice(file, 64, 72)).toEqual(le(88, 8)); // root subtrie offset
    expect(slice(file, 72, 80)).toEqual(le(0, 8)); // allocator offset
    expect(slice(file, 80, 88)).toEqual([...new TextEncoder().encode("index"), 0, 0, 0]);
  });

  test("has the root subtrie at 88: header, then 4 slots with the record in slot 3", () => {
    expect(slice(file, 88, 96)).toEqual([0, 0, 2, 0, 0, 0, 0, 0]); // start bit 0, 2 bits
    expect(slice(file, 96, 120)).toEqual(new Array(24).fill(0)); // slots 0..2 empty
    expect(slice(file, 120, 128)).toEqual(le(128, 8)); // 0xc0 = 0b11...: slot 3 -> record at 128
  });

  test("has the record at 128: data first, then the hash, padded to 8", () => {
    expect(slice(file, 128, 136)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(slice(file, 136, 144)).toEqual([0xc0, 0x01, 0, 0, 0, 0, 0, 0]);
  });
});

describe("a trie file where a second hash shares the first one's prefix", () => {
  const path = freshPath(directory, "sink");
  let validation;
  {
    using map = smallTrie(path);
    map.insert(new Uint8Array([0xc0, 0x01]));
    map.insert(new Uint8Array([0xc0, 0x02]));
    validation = map.validate();
    expect(map.find(new Uint8Array([0xc0, 0x01]))?.offset).toBe(128);
    expect(map.find(new Uint8Array([0xc0, 0x02]))?.offset).toBe(456);
  }
  const file = new Uint8Array(readFileSync(path));

  test("the root slot holds minus the offset of the first child, which starts at bit 2", () => {
    // As in LLVM, the new record is allocated only once an empty slot is found:
    // the subtries come first, from 144.
    expect(slice(file, 120, 128)).toEqual(le(-144, 8));
    expect(slice(file, 144, 152)).toEqual([2, 0, 1, 0, 0, 0, 0, 0]);
    expect(slice(file, 152, 160)).toEqual(le(-168, 8)); // bit 2 of 0xc0.. is 0: slot 0 -> the next child
  });

  test("the records sink one bit per level until bit 14, where 0x01 and 0x02 differ", () => {
    // Subtries at start bits 2..14, 24 bytes each, from 144; the last one is at
    // 144 + 12 * 24 = 432, and the second record follows it at 456.
    const last = 144 + 12 * 24;
    expect(slice(file, last, last + 8)).toEqual([14, 0, 1, 0, 0, 0, 0, 0]);
    expect(slice(file, last + 8, last + 16)).toEqual(le(128, 8)); // bit 14 of 0xc001 is 0
    expect(slice(file, last + 16, last + 24)).toEqual(le(456, 8)); // bit 14 of 0xc002 is 1
    expect(slice(file, 456, 472)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0x02, 0, 0, 0, 0, 0, 0]);
    expect(file.length).toBe(472);
    expect(validation).toEqual({ records: 2, subtries: 14, maxDepth: 14, reachableBytes: file.length - 48, usedBytes: file.length - 48, leakedBytes: 0 });
  });
});

describe("a data allocator file with a user header and one block", () => {
  const path = freshPath(directory, "pool");
  {
    using pool = OnDiskDataAllocator.create(path, {
      name: "data",
      capacity: 64 * 1024,
      userHeaderBytes: 8,
      initializeUserHeader: (header) => header.set([0xaa, 0xbb]),
    });
    pool.allocate(5).data.set(new TextEncoder().encode("hello"));
  }
  const file = new Uint8Array(readFileSync(path));

  test("has the database header pointing at the table at 48", () => {
    expect(file.length).toBe(96);
    expect(slice(file, 0, 16)).toEqual([0x53, 0xba, 0x7a, 0xda, ...le(1, 4), ...le(48, 8)]);
  });

  test("has the table: generic header, allocator offset, user header size, user header, name", () => {
    expect(slice(file, 48, 56)).toEqual([...le(2, 2), ...le(4, 2), ...le(24 + 8, 4)]);
    expect(slice(file, 56, 64)).toEqual(le(0, 8)); // allocator offset
    expect(slice(file, 64, 72)).toEqual(le(8, 8)); // user header size
    expect(slice(file, 72, 80)).toEqual([0xaa, 0xbb, 0, 0, 0, 0, 0, 0]);
    expect(slice(file, 80, 88)).toEqual([...new TextEncoder().encode("data"), 0, 0, 0, 0]);
  });

  test("has the block right after, padded to 8", () => {
    expect(slice(file, 88, 96)).toEqual([...new TextEncoder().encode("hello"), 0, 0, 0]);
  });
});

/** Writes `bytes` at `offset` of a closed file. */
function patch(path: string, offset: number, bytes: number[]): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, new Uint8Array(bytes), 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

const hashA = new Uint8Array([0xc0, 0x01]);
const hashB = new Uint8Array([0xc0, 0x02]);

/** The one-record file of the first describe: root at 88, A's slot (3) at 120, A at 128. */
function oneRecordFile(): string {
  const path = freshPath(directory, "bad");
  using map = smallTrie(path);
  map.insert(hashA);
  return path;
}

/** The two-record file of the second describe: a chain of 1-bit children from 144 to 432. */
function twoRecordFile(): string {
  const path = freshPath(directory, "bad");
  using map = smallTrie(path);
  map.insert(hashA);
  map.insert(hashB);
  return path;
}

/** Every way in must refuse the file with ERR_ARENA_CORRUPT naming `where` (hex). */
function expectCorruptEverywhere(path: string, where: number, hash = hashA): void {
  using map = smallTrie(path);
  const at = `offset 0x${where.toString(16)}`;
  expect(expectArenaError(() => map.find(hash), "ERR_ARENA_CORRUPT").message).toContain(at);
  expect(expectArenaError(() => map.insert(hash), "ERR_ARENA_CORRUPT").message).toContain(at);
  expect(expectArenaError(() => map.validate(), "ERR_ARENA_CORRUPT").message).toContain(at);
  expectArenaError(() => [...map], "ERR_ARENA_CORRUPT");
}

describe("a corrupt slot is ERR_ARENA_CORRUPT saying where, from find, insert, validate and iteration", () => {
  test("a record offset past the bump pointer", () => {
    const path = oneRecordFile();
    patch(path, 120, le(4096, 8));
    expectCorruptEverywhere(path, 120);
  });

  test("a record offset that is not 8-aligned", () => {
    const path = oneRecordFile();
    patch(path, 120, le(130, 8));
    expectCorruptEverywhere(path, 120);
  });

  test("a record offset inside the headers", () => {
    const path = oneRecordFile();
    patch(path, 120, le(16, 8));
    expectCorruptEverywhere(path, 120);
  });

  test("a child pointer to the root itself (a loop): its start bit is not where the parent ends", () => {
    const path = oneRecordFile();
    patch(path, 120, le(-88, 8));
    expectCorruptEverywhere(path, 88);
  });

  test("a value no 32-bit offset can be", () => {
    const path = oneRecordFile();
    patch(path, 120, le(0x7fffffff00000000n, 8));
    expectCorruptEverywhere(path, 120);
  });

  test("a child pointer whose subtrie header has the wrong width", () => {
    const path = twoRecordFile();
    patch(path, 146, [5]); // the child at 144 claims 5 bits; its place gives 1
    expectCorruptEverywhere(path, 144);
  });

  test("a deep child pointing back up the chain (a cycle)", () => {
    const path = twoRecordFile();
    patch(path, 432 + 8, le(-144, 8)); // the last child's slot 0 -> the first child
    expectCorruptEverywhere(path, 144);
  });
});

describe("records in the wrong place", () => {
  test("a record whose hash leads elsewhere: find misses it, validate says so, insert refuses instead of looping", () => {
    const path = oneRecordFile();
    patch(path, 120, le(0, 8));
    patch(path, 96, le(128, 8)); // A (0b11...) in slot 0
    using map = smallTrie(path);
    expect(map.find(hashA)).toBeNull();
    expect(expectArenaError(() => map.validate(), "ERR_ARENA_CORRUPT").message).toMatch(/hash leads to slot 3/);
    // 0x0001 shares every bit after the root's two with A: LLVM would sink A past the end of the hash.
    expect(expectArenaError(() => map.insert(new Uint8Array([0x00, 0x01])), "ERR_ARENA_CORRUPT").message).toMatch(/last level/);
  });

  test("one subtrie reached from two slots", () => {
    const path = twoRecordFile();
    patch(path, 160, le(-168, 8)); // the first child's empty slot 1 -> the child its slot 0 holds
    using map = smallTrie(path);
    expect(expectArenaError(() => map.validate(), "ERR_ARENA_CORRUPT").message).toMatch(/more than one slot/);
  });

  test("a record overlapping the root subtrie", () => {
    const path = oneRecordFile();
    patch(path, 96, le(96, 8)); // slot 0 -> 96, inside the root; its "hash" (slot 1's bytes) is 0, which leads to slot 0
    using map = smallTrie(path);
    expect(expectArenaError(() => map.validate(), "ERR_ARENA_CORRUPT").message).toMatch(/starts inside another/);
  });
});

describe("corrupt headers are refused at open", () => {
  // The database and table headers are judged from a snapshot before the file is
  // mapped: not a byte changes. The root subtrie is judged after mapping, and
  // opening refreshes the arena's allocatedSize word (file offset 24) from
  // st_blocks: a hint, not content; every other byte stays.
  const cases: [string, number, number[], ArenaErrorCode][] = [
    ["the root table offset points into the headers", 8, le(8, 8), "ERR_ARENA_CORRUPT"],
    ["the root table offset is past the bump pointer", 8, le(4096, 8), "ERR_ARENA_CORRUPT"],
    ["the table name runs past the bump pointer", 50, le(0xffff, 2), "ERR_ARENA_CORRUPT"],
    ["the magic is wrong", 0, [1, 2, 3, 4], "ERR_ARENA_HEADER_MISMATCH"],
    ["the arena's capacity is over 2 GiB (LLVM's large files)", 32, le(2 ** 32, 8), "ERR_ARENA_TOO_LARGE"],
    ["the version is 2", 4, le(2, 4), "ERR_ARENA_HEADER_MISMATCH"],
    ["the flags are set", 57, [1], "ERR_ARENA_HEADER_MISMATCH"],
    ["the subtrie bits are 11", 56, [11], "ERR_ARENA_CORRUPT"],
    ["the root subtrie offset is misaligned", 64, le(90, 8), "ERR_ARENA_CORRUPT"],
    ["the root subtrie offset is past the bump pointer", 64, le(4096, 8), "ERR_ARENA_CORRUPT"],
    ["the root subtrie has 0 bits", 90, [0], "ERR_ARENA_CORRUPT"],
    ["the root subtrie is wider than the file", 90, [16], "ERR_ARENA_CORRUPT"],
    ["the root subtrie starts at bit 3", 88, [3], "ERR_ARENA_CORRUPT"],
  ];
  for (const [what, offset, bytes, code] of cases) {
    test(what, () => {
      const path = oneRecordFile();
      patch(path, offset, bytes);
      const before = readFileSync(path);
      expectArenaError(() => smallTrie(path), code);
      const after = readFileSync(path);
      const judgedAfterMapping = offset >= 64;
      if (judgedAfterMapping) {
        before.fill(0, 24, 32);
        after.fill(0, 24, 32);
      }
      expect(after.equals(before)).toBe(true);
    });
  }
});

/**
 * An independent C writer (peer/llvm-trie-writer.c) builds the file the way LLVM's
 * create() and insertLazy() do, from docs/DESIGN.md (the trie). Single-threaded, the
 * format leaves no freedom: the same inserts must give the same bytes (all but the
 * arena's allocatedSize hint), and each side must read the other's file.
 * Needs a C compiler (`cc`); without one the test fails and says so.
 */
describe("the same inserts by an independent C writer of LLVM's algorithm give the same bytes", () => {
  const writer = join(directory, "llvm-trie-writer");
  beforeAll(() => {
    const source = join(import.meta.dir, "peer", "llvm-trie-writer.c");
    const compile = Bun.spawnSync(["cc", "-O2", "-std=c11", "-Wall", "-Werror", "-o", writer, source], { stderr: "pipe" });
    if (!compile.success) throw new Error(`cannot compile the C writer (is a C compiler installed as cc?): ${compile.stderr}`);
  });

  /** Hashes with long shared prefixes (deep sinks), a few repeated. */
  function prefixHashes(count: number, hashBytes: number): Uint8Array[] {
    const hashes: Uint8Array[] = [];
    for (let index = 0; index < count; index++) {
      const hash = new Uint8Array(hashBytes);
      hash[0] = index % 3 === 0 ? 0xa5 : 0x5a;
      hash[hashBytes - 2] = (index >> 8) & 0xff;
      hash[hashBytes - 1] = index & 0xff;
      hashes.push(hash);
      if (index % 97 === 0) hashes.push(hash.slice()); // inserted again: must change nothing
    }
    return hashes;
  }

  function randomHashes(count: number, hashBytes: number, seed: number): Uint8Array[] {
    let state = seed;
    return Array.from({ length: count }, () =>
      Uint8Array.from({ length: hashBytes }, () => {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        return state >>> 24;
      }),
    );
  }

  const shapes = [
    { what: "32-bit hashes, 4-bit root, 2-bit subtries, deep shared prefixes", hashBits: 32, dataBytes: 8, rootBits: 4, subtrieBits: 2, hashes: () => prefixHashes(3000, 4) },
    { what: "SHA-256-sized hashes with LLVM's default 10/6 bits, 16 data bytes", hashBits: 256, dataBytes: 16, rootBits: 10, subtrieBits: 6, hashes: () => randomHashes(3000, 32, 7) },
    { what: "1-byte hashes under a 10-bit root (LLVM's unit test shape), odd 5 data bytes", hashBits: 8, dataBytes: 5, rootBits: 10, subtrieBits: 6, hashes: () => randomHashes(300, 1, 3) },
    { what: "24-bit hashes, 3-bit subtries that end mid-byte", hashBits: 24, dataBytes: 4, rootBits: 7, subtrieBits: 3, hashes: () => prefixHashes(2000, 3) },
  ];
  for (const shape of shapes) {
    test(shape.what, () => {
      const hashes = shape.hashes();
      // Record i's data: i as a little-endian u64, cut or zero-padded to dataBytes (as the writer does).
      const dataFor = (index: number) => [...le(index, 8), ...new Array(8).fill(0)].slice(0, shape.dataBytes);
      const capacity = 64 * 1024 * 1024;
      const hashesPath = freshPath(directory, "hashes");
      writeFileSync(hashesPath, Buffer.concat(hashes));
      const theirs = freshPath(directory, "llvm");
      const args = [theirs, "index", shape.hashBits, shape.dataBytes, shape.rootBits, shape.subtrieBits, capacity].map(String);
      const run = Bun.spawnSync([writer, ...args], { stdin: Bun.file(hashesPath), stderr: "pipe" });
      expect(run.stderr.toString()).toBe("");
      expect(run.exitCode).toBe(0);

      const ours = freshPath(directory, "ours");
      const options = { name: "index", hashBits: shape.hashBits, dataBytes: shape.dataBytes, capacity, rootBits: shape.rootBits, subtrieBits: shape.subtrieBits };
      {
        using map = OnDiskTrieRawHashMap.create(ours, options);
        hashes.forEach((hash, index) => map.insert(hash, (data) => data.set(dataFor(index))));
      }
      const mine = readFileSync(ours);
      const llvm = readFileSync(theirs);
      mine.fill(0, 24, 32);
      llvm.fill(0, 24, 32);
      expect(mine.length).toBe(llvm.length);
      expect(mine.equals(llvm)).toBe(true);

      // And the library reads the C writer's file: every hash, its data, no leak.
      using map = OnDiskTrieRawHashMap.create(theirs, options);
      const first = new Map<string, number>();
      hashes.forEach((hash, index) => void (first.has(hash.join()) || first.set(hash.join(), index)));
      for (const [key, index] of first) {
        const found = map.find(Uint8Array.from(key.split(",").map(Number)));
        expect([...found!.data]).toEqual(dataFor(index));
      }
      expect(map.validate()).toMatchObject({ records: first.size, leakedBytes: 0 });
    });
  }
});
