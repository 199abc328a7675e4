/**
 * Child for disk-full.test.ts: while this process has the arena open, another
 * opener stores allocatedSize = 2 MiB in the shared header. That is what LLVM's
 * MappedFileRegionArena::create does whenever it holds the main file
 * exclusively, which it takes when its requested capacity is larger than the
 * file (here: the stored capacity): AllocatedSize.exchange(st_blksize * 512).
 * Simulated with a pwrite (one page cache). Then the disk fills, and this
 * process allocates and writes inside the 2 MiB "already reserved".
 *
 *   bun word-raised-while-open.ts PATH
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { fillDisk } from "../isolated-runs.ts";

const path = process.argv[2]!;
const MiB = 1024 * 1024;
const arena = MappedFileRegionArena.create(path, { capacity: 64 * MiB });
arena.append(new Uint8Array(64).fill(1)); // reserves up to ~1 MiB past its end
const fd = openSync(path, "r+");
const word = Buffer.alloc(8);
word.writeBigUInt64LE(BigInt(2 * MiB)); // 4096 * 512, LLVM's st_blksize * MAPPED_FILE_BSIZE
writeSync(fd, word, 0, 8, arena.headerOffset + 8);
closeSync(fd);
fillDisk(path);
const report: Record<string, unknown> = {};
try {
  const view = arena.allocate(768 * 1024); // ends past our ~1 MiB, inside LLVM's 2 MiB
  view.fill(2);
  report.wrote = true;
} catch (error) {
  report.error = (error as { code?: string }).code ?? String(error);
}
console.log(JSON.stringify(report));
