/**
 * The user bytes before the header (testHeaderOffset of them) of the arenas the
 * multi-process tests share hold a start barrier, so that child processes
 * allocate at the same moment rather than one after another, and a progress word
 * per child for the crash test.
 *
 * The parent's side (fileBarrier) reads and writes those words through the file,
 * not a mapping: if a bug let a child's close shrink the file, a parent that
 * mapped it would die of SIGBUS and take the whole test run with it (issue 8
 * item 9c). File reads and writes share the page cache with the children's
 * mappings, so the words are the same.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
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

/**
 * Parent: the start barrier of the arena at `path`, through file reads and writes
 * (see the top of this file). The parent need not have the arena open.
 */
export function fileBarrier(path: string) {
  const word = new BigUint64Array(1);
  const bytes = new Uint8Array(word.buffer);
  return {
    async releaseWhenArrived(children: number): Promise<void> {
      const fd = openSync(path, "r+");
      try {
        const deadline = Date.now() + 30_000;
        for (;;) {
          readSync(fd, bytes, 0, 8, arrivedWord * 8);
          if (word[0]! >= BigInt(children)) break;
          if (Date.now() > deadline) throw new Error(`only ${word[0]} of ${children} children arrived`);
          await Bun.sleep(5);
        }
        word[0] = 1n;
        writeSync(fd, bytes, 0, 8, goWord * 8);
      } finally {
        closeSync(fd);
      }
    },
  };
}
