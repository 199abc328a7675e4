/**
 * The progress board of the log crash tests: a small arena file holding, per
 * writer id, how many of its records append() has returned for. A writer stores it
 * after each append returns, so after a SIGKILL the board says "at least this many
 * were committed" (one more may have been, killed before the store).
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";

export const maxWriters = 64;

export function openProgress(path: string): { words: BigInt64Array; arena: MappedFileRegionArena } {
  const arena = MappedFileRegionArena.create(path, { capacity: 4096 });
  if (arena.size === 32) arena.allocateOffset(maxWriters * 8); // idempotent enough: only the creator sees 32
  const bytes = arena.bytes(32, maxWriters * 8);
  return { arena, words: new BigInt64Array(bytes.buffer, bytes.byteOffset, maxWriters) };
}
