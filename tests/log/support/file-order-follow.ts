/**
 * THE BROKEN VARIANT for "an idle writer must not hold back the others": a
 * follower that reads blocks strictly in file order and moves to the next block
 * only once the current one is sealed (or its writer dead). It is what following
 * "in file order" naively means, and it waits behind the open block of a writer
 * that is alive but has nothing to say, however many records come after it.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { atomicWordLoads } from "../../../lib/arena/word-loads.ts";
import { commitEnd, isSealed, loadCommit, recordLengthAt } from "../../../lib/log/blocks.ts";
import { arenaHeaderOffset, blockHeaderBytes, firstBlockOffset, recordHeaderBytes } from "../../../lib/log/format.ts";

export async function* fileOrderFollow(path: string, capacity: number, blockSize: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  using arena = MappedFileRegionArena.create(path, { capacity, headerOffset: arenaHeaderOffset });
  let block = 0;
  let at = blockHeaderBytes;
  while (!signal.aborted) {
    const start = firstBlockOffset + block * blockSize;
    if (start + blockSize <= arena.size) {
      const bytes = arena.bytes(start, blockSize);
      const words = new Int32Array(bytes.buffer, bytes.byteOffset, blockSize / 4);
      const commit = loadCommit({ start, bytes, words, loads: atomicWordLoads }, blockSize);
      const end = commitEnd(commit);
      while (at < end) {
        const length = recordLengthAt(words, at, end);
        yield bytes.subarray(at + recordHeaderBytes, at + recordHeaderBytes + length);
        at += recordHeaderBytes + ((length + 3) & ~3);
      }
      if (isSealed(commit)) {
        block += 1;
        at = blockHeaderBytes;
        continue;
      }
    }
    await Bun.sleep(1);
  }
}
