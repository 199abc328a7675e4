/**
 * Issue 13 item 2: what a read-only open costs a reader. Its mapping is
 * MAP_PRIVATE (a write through a view copies the page into this process instead
 * of reaching the file), so the question is whether reading through it is as fast
 * as through a writer's shared mapping, and what the alternative that needs no
 * mapping trick, copying out with pread, would cost.
 *
 *  - trie.find on 10 000 records: a writer (baseline) and a read-only opener of
 *    the same file, looking up the same hashes.
 *  - 64 bytes at a known offset: a writer's bytes() view (baseline), a read-only
 *    opener's bytes() view, and a copy-out (one pread per read, as a reader without
 *    a mapping would do).
 *
 * `bun run bench` runs it with the rest; `bun bench/read-only.ts` alone.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { MappedFileRegionArena, OnDiskTrieRawHashMap } from "../lib/index.ts";
import { compare, consume, type Row } from "./harness.ts";
import { MiB, scratchPath } from "./scratch.ts";

const recordCount = 10_000;

export function benchReadOnly(): Row[] {
  const triePath = scratchPath("read-only-trie");
  const hashes = Array.from({ length: recordCount }, (_, i) => new Uint8Array(createHash("sha256").update(`${i}`).digest()));
  const writerTrie = OnDiskTrieRawHashMap.create(triePath, { name: "index", hashBits: 256, dataBytes: 8, capacity: 64 * MiB });
  for (const hash of hashes) writerTrie.insert(hash);
  const readerTrie = OnDiskTrieRawHashMap.openReadOnly(triePath, { name: "index", hashBits: 256, dataBytes: 8 });
  const findWith = (trie: OnDiskTrieRawHashMap) => (ops: number) => {
    let sum = 0;
    for (let i = 0; i < ops; i++) sum += trie.findOffset(hashes[i % recordCount]!);
    consume(sum);
  };
  const rows = compare(
    "trie.find, 10 000 records",
    [
      { name: "trie.find, writer (shared mapping)", run: findWith(writerTrie) },
      { name: "trie.find, openReadOnly (private mapping)", run: findWith(readerTrie) },
    ],
    { baseline: "trie.find, writer (shared mapping)" },
  );
  readerTrie.close();
  writerTrie.close();

  const arenaPath = scratchPath("read-only-arena");
  const writer = MappedFileRegionArena.create(arenaPath, { capacity: 64 * MiB });
  const first = writer.allocateOffset(MiB);
  writer.bytes(first, MiB).fill(7);
  const reader = MappedFileRegionArena.openReadOnly(arenaPath);
  const fd = openSync(arenaPath, "r");
  const copy = new Uint8Array(64);
  const viewWith = (arena: MappedFileRegionArena) => (ops: number) => {
    let sum = 0;
    for (let i = 0; i < ops; i++) sum += arena.bytes(first + (i & 16383) * 64, 64)[63]!;
    consume(sum);
  };
  rows.push(
    ...compare(
      "read 64 B at an offset",
      [
        { name: "bytes(offset, 64), writer (shared mapping)", run: viewWith(writer) },
        { name: "bytes(offset, 64), openReadOnly (private mapping)", run: viewWith(reader) },
        {
          name: "copy-out: pread 64 B",
          run(ops) {
            let sum = 0;
            for (let i = 0; i < ops; i++) {
              readSync(fd, copy, 0, 64, first + (i & 16383) * 64);
              sum += copy[63]!;
            }
            consume(sum);
          },
        },
      ],
      { baseline: "bytes(offset, 64), writer (shared mapping)" },
    ),
  );
  closeSync(fd);
  reader.close();
  writer.close();
  return rows;
}

if (import.meta.main) {
  for (const row of benchReadOnly()) {
    console.log(`${row.group} | ${row.name} | ${row.nsPerOp.toFixed(1)} ns | ${row.ratio.toFixed(2)}x`);
  }
}
