/**
 * Child for bump-pointer.test.ts: while an arena is open, another process (here a
 * pwrite: one page cache) stores a bumpPtr just below 2^64 in the header, as a
 * corrupting or hostile writer, or an LLVM opener retrying while full for long
 * enough, could. Prints the offsets allocateOffset hands out afterwards.
 *
 *   bun wrapped-bump.ts PATH
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { MappedFileRegionArena } from "../../../lib/index.ts";

const path = process.argv[2]!;
const arena = MappedFileRegionArena.create(path, { capacity: 1 << 20 });
arena.allocateOffset(100);
const fd = openSync(path, "r+");
const word = Buffer.alloc(8);
word.writeBigUInt64LE(2n ** 64n - 8n);
writeSync(fd, word, 0, 8, arena.headerOffset);
closeSync(fd);
const results: (number | string)[] = [];
for (let i = 0; i < 4; i++) {
  try {
    results.push(arena.allocateOffset(16));
  } catch (error) {
    results.push((error as { code?: string }).code ?? String(error));
  }
}
console.log(JSON.stringify({ results, size: arena.size, firstAllowed: arena.headerOffset + 32, capacity: arena.capacity }));
