/**
 * The user bytes before the header (testHeaderOffset of them) of the arenas the
 * multi-process tests share hold their rendezvous words, so that what a test
 * needs to happen at once happens at once by construction, not by timing: on a
 * loaded 2-core machine a process can be descheduled for tens of milliseconds,
 * and a test that hopes for an overlap (or for a race it means to lose) fails at
 * random. The words, 64-bit, from file offset 0 (llvm-style-peer.c uses the same):
 *
 *   0  arrived      start barrier: children count themselves in
 *   1  go           start barrier: the parent's release
 *   2  checkpoints  a reusable barrier: each participant adds 1 per checkpoint
 *   3  collisions   tickets for broken variants that must lose a race (see collide)
 *   4+ progress     one word per child (the crash test), up to 12 children
 *
 * A parent that need not hold the arena uses fileBarrier, which reads and writes
 * those words through the file, not a mapping: if a bug let a child's close shrink
 * the file, a parent that mapped it would die of SIGBUS and take the whole test
 * run with it (issue 8 item 9c). File reads and writes share the page cache with
 * the children's mappings, so the words are the same.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import type { MappedFileRegionArena } from "../../lib/index.ts";

export const testHeaderOffset = 128;
const arrivedWord = 0;
const goWord = 1;
const checkpointWord = 2;
const collisionWord = 3;
const progressWordBase = 4;
const waitLimitMs = 30_000;

function userWords(arena: MappedFileRegionArena): BigInt64Array {
  const bytes = arena.bytes(0, testHeaderOffset);
  return new BigInt64Array(bytes.buffer, bytes.byteOffset, testHeaderOffset / 8);
}

/**
 * Spins until `done()`, yielding the core after the first few thousand tries (the
 * other participants may need it to get there), for at most 30 s.
 */
function waitUntil(done: () => boolean, what: () => string): void {
  const deadline = Date.now() + waitLimitMs;
  for (let tries = 0; !done(); tries++) {
    if (tries > 4096) Bun.sleepSync(1);
    if (Date.now() > deadline) throw new Error(`waited 30 s for ${what()}`);
  }
}

export function barrier(arena: MappedFileRegionArena) {
  const words = userWords(arena);
  return {
    /** Child: count itself in, then wait (at most 30 s) for the parent's go. */
    arriveAndWait(): void {
      Atomics.add(words, arrivedWord, 1n);
      // A pure spin: the parent's go must release everyone within microseconds.
      const deadline = Date.now() + waitLimitMs;
      while (Atomics.load(words, goWord) === 0n) {
        if (Date.now() > deadline) throw new Error("no go from the parent within 30 s");
      }
    },
    /** Parent: wait (at most 30 s) until `children` have arrived, then let them go. */
    async releaseWhenArrived(children: number): Promise<void> {
      const deadline = Date.now() + waitLimitMs;
      while (Atomics.load(words, arrivedWord) < BigInt(children)) {
        if (Date.now() > deadline) throw new Error(`only ${Atomics.load(words, arrivedWord)} of ${children} children arrived`);
        await Bun.sleep(5);
      }
      Atomics.store(words, goWord, 1n);
    },
    /**
     * The `round`-th checkpoint (1, 2, ...) of `participants` that all pass the
     * same checkpoints in the same order: nobody passes it before every one has
     * reached it. What each did before it lies, in time, before what any does after.
     */
    checkpoint(round: number, participants: number): void {
      Atomics.add(words, checkpointWord, 1n);
      const everyone = BigInt(round * participants);
      waitUntil(
        () => Atomics.load(words, checkpointWord) >= everyone,
        () => `checkpoint ${round}: ${Atomics.load(words, checkpointWord)} of ${everyone} arrivals`,
      );
    },
    /**
     * For a broken variant that reads a shared word and writes it back later:
     * call it between the read and the write. The first two callers (anywhere)
     * meet: the first waits until the second has arrived, so both have read before
     * either writes, and the lost update the variant allows is certain, not a race
     * that a loaded machine may never lose. Later callers pass straight through.
     * At least two participants must call it.
     */
    collide(): void {
      const ticket = Atomics.add(words, collisionWord, 1n);
      if (ticket !== 0n) return;
      waitUntil(() => Atomics.load(words, collisionWord) >= 2n, () => "a second racer to read before the first writes");
    },
  };
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
        const deadline = Date.now() + waitLimitMs;
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

export function progressWords(arena: MappedFileRegionArena, children: number): BigInt64Array {
  return userWords(arena).subarray(progressWordBase, progressWordBase + children);
}
