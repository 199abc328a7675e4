/**
 * Child process for bench/processes.ts.
 *
 *   bun appender.ts PATH RECORDS MODE START_AT_MS
 *
 * Opens the arena, waits until the wall clock reaches START_AT_MS (so that
 * several children start together), appends RECORDS 64-byte records with
 * arena.append (MODE "arena") or a 64 KiB block allocator (MODE "block"), or
 * only allocates 8 bytes per record without writing (MODE "arena-offsets",
 * "block-offsets": the allocator alone, without page faults), and prints its
 * start and end times in ms as JSON.
 */
import { MappedFileRegionArena } from "../../lib/index.ts";

const [path, recordsText, mode, startText] = process.argv.slice(2);
const records = Number(recordsText);
const startAt = Number(startText);
const arena = MappedFileRegionArena.create(path!, { capacity: 4 * 1024 ** 3 });
const record = new Uint8Array(64).fill(mode === "arena" ? 1 : 2);
const blocks = arena.blockAllocator(64 * 1024);
const appenders: Record<string, (bytes: Uint8Array) => number> = {
  arena: (bytes) => arena.append(bytes),
  block: (bytes) => blocks.append(bytes),
  "arena-offsets": () => arena.allocateOffset(8),
  "block-offsets": () => blocks.allocateOffset(8),
};
const append = appenders[mode!]!;
// Warm the JIT on a few records before the clock starts.
for (let i = 0; i < 2000; i++) append(record);
const now = () => performance.timeOrigin + performance.now();
while (now() < startAt) {}
const start = now();
for (let i = 0; i < records; i++) append(record);
const end = now();
blocks.close();
arena.close();
process.stdout.write(JSON.stringify({ start, end }));
