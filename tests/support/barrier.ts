/**
 * The user bytes before the header (testHeaderOffset of them) of the arenas the
 * multi-process tests share hold a start barrier, so that child processes
 * allocate at the same moment rather than one after another, and a progress word
 * per child for the crash test.
 */
import type { MappedFileRegionArena } from "../../lib/index.ts";

export const testHeaderOffset = 128;
const arrivedWord = 0;
const goWord = 1;
const progressWordBase = 2; // one word per child, up to 14 children

function userWords(arena: MappedFileRegionArena): BigInt64Array {
  const bytes = arena.bytes(0, testHeaderOffset);
  return new BigInt64Array(bytes.buffer, bytes.byteOffset, testHeaderOffset / 8);
}

export function barrier(arena: MappedFileRegionArena) {
  const words = userWords(arena);
  return {
    /** Child: count itself in, then wait (at most 30 s) for the parent's go. */
    arriveAndWait(): void {
      Atomics.add(words, arrivedWord, 1n);
      const deadline = Date.now() + 30_000;
      while (Atomics.load(words, goWord) === 0n) {
        if (Date.now() > deadline) throw new Error("no go from the parent within 30 s");
      }
    },
    /** Parent: wait (at most 30 s) until `children` have arrived, then let them go. */
    async releaseWhenArrived(children: number): Promise<void> {
      const deadline = Date.now() + 30_000;
      while (Atomics.load(words, arrivedWord) < BigInt(children)) {
        if (Date.now() > deadline) throw new Error(`only ${Atomics.load(words, arrivedWord)} of ${children} children arrived`);
        await Bun.sleep(5);
      }
      Atomics.store(words, goWord, 1n);
    },
  };
}

export function progressWords(arena: MappedFileRegionArena, children: number): BigInt64Array {
  return userWords(arena).subarray(progressWordBase, progressWordBase + children);
}
