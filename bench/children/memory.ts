/**
 * Child process for bench/memory.ts: a fresh process, so its RSS is its own.
 *
 *   bun memory.ts PATH
 *
 * Creates a 64 GiB-capacity arena, appends 1 MiB in 64-byte records, and prints
 * RSS before and after and the file's disk blocks while open and after close.
 */
import { readFileSync, statSync } from "node:fs";
import { MappedFileRegionArena } from "../../lib/index.ts";

const path = process.argv[2]!;
/** Resident pages backed by files (the arena's pages count here), from /proc; 0 elsewhere. */
function rssFileBytes(): number {
  try {
    const match = /RssFile:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
Bun.gc(true);
const rssBefore = process.memoryUsage().rss;
const rssFileBefore = rssFileBytes();
const arena = MappedFileRegionArena.create(path, { capacity: 64 * 1024 ** 3 });
const record = new Uint8Array(64).fill(1);
for (let i = 0; i < (1024 * 1024) / 64; i++) arena.append(record);
Bun.gc(true);
const rssAfter = process.memoryUsage().rss;
const rssFileAfter = rssFileBytes();
const open = statSync(path);
arena.close();
const closed = statSync(path);
process.stdout.write(
  JSON.stringify({
    rssBefore,
    rssAfter,
    rssFileBefore,
    rssFileAfter,
    fileBytesOpen: open.size,
    diskBytesOpen: open.blocks * 512,
    fileBytesClosed: closed.size,
    diskBytesClosed: closed.blocks * 512,
  }),
);
