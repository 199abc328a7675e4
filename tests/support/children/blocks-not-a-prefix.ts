/**
 * Child for disk-full.test.ts: a file whose st_blocks count is at least its used
 * bytes, but whose blocks are not where the used bytes are (holes inside
 * [headerEnd, bumpPtr), data past the bump pointer), on a disk that is then
 * filled. Writes into a new allocation and into an old one.
 *
 *   bun blocks-not-a-prefix.ts PATH
 */
import { closeSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { fillDisk } from "../isolated-runs.ts";

const path = process.argv[2]!;
const MiB = 1024 * 1024;
const capacity = 8 * MiB;
const fd = openSync(path, "w+");
const header = Buffer.alloc(32);
header.writeBigUInt64LE(BigInt(MiB), 0); // bumpPtr: 1 MiB used
header.writeBigUInt64LE(BigInt(capacity), 8); // allocatedSize: what a sparse copy or LLVM may leave
header.writeBigUInt64LE(BigInt(capacity), 16);
header.writeBigUInt64LE(0n, 24);
writeSync(fd, header, 0, 32, 0);
ftruncateSync(fd, capacity);
// 2 MiB of blocks past the bump pointer: st_blocks says 2 MiB, more than the 1 MiB used.
writeSync(fd, Buffer.alloc(2 * MiB, 7), 0, 2 * MiB, capacity - 2 * MiB);
closeSync(fd);

fillDisk(path);

const report: Record<string, unknown> = {};
try {
  const arena = MappedFileRegionArena.create(path, { capacity });
  report.opened = true;
  const what = process.argv[3] ?? "new";
  if (what === "new") {
    const view = arena.allocate(512 * 1024);
    report.offset = view.byteOffset;
    view.fill(1); // SIGBUS here if the allocation's blocks were never reserved
  } else {
    arena.bytes(4096, 64 * 1024).fill(2); // an old allocation, inside [32, bumpPtr)
  }
  report.wrote = true;
  arena.close();
} catch (error) {
  report.error = (error as { code?: string }).code ?? String(error);
}
console.log(JSON.stringify(report));
