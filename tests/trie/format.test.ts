/**
 * The exact bytes of small trie files, against the layout in docs/design/trie.md
 * (LLVM's DatabaseFile + OnDiskTrieRawHashMap). Each file is closed before it is
 * read, so the last close has truncated it to its bump pointer.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { OnDiskDataAllocator, OnDiskTrieRawHashMap } from "../../lib/index.ts";
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
