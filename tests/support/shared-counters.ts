/**
 * Counters shared by the processes of one test, in a small control arena beside
 * the file under test (so the file under test holds nothing but what the library
 * wrote). The parent creates the arena; the counters are its first allocation, at
 * a fixed offset every child knows.
 *
 * Waiting is polling (mapped memory cannot be Atomics.wait-ed on): a spin that
 * turns into 1 ms sleeps, so that on a 2-core machine shared with other work a
 * waiter gives its core to the process it is waiting for.
 */
import { MappedFileRegionArena } from "../../lib/index.ts";

export const counterCount = 16;
const capacity = 1024 * 1024;

/** Which counter holds what; the tests that share a control arena agree on this. */
export const counter = {
  /** Processes that have started and are waiting for the go. */
  arrived: 0,
  /** Set to 1 by the parent: start. */
  go: 1,
  /** Arrivals at the rendezvous of insert races (see rendezvous). */
  rendezvous: 2,
  /** Writers that have finished inserting. */
  writersDone: 3,
  /** Progress of writer i (keys acknowledged) is at progressBase + i. */
  progressBase: 8,
} as const;

export interface ControlArena {
  arena: MappedFileRegionArena;
  words: BigInt64Array;
}

/** Creates (parent) or opens (child) the control arena at `path`. */
export function openControl(path: string): ControlArena {
  const arena = MappedFileRegionArena.create(path, {
    capacity,
    onCreate: (created) => void created.allocateOffset(counterCount * 8),
  });
  const bytes = arena.bytes(32, counterCount * 8);
  return { arena, words: new BigInt64Array(bytes.buffer, bytes.byteOffset, counterCount) };
}

/** Polls until words[index] >= atLeast; throws after `timeoutMs`, saying what it waited for. */
export function waitFor(words: BigInt64Array, index: number, atLeast: bigint, what: string, timeoutMs = 60_000): void {
  const deadline = Date.now() + timeoutMs;
  for (let spins = 0; Atomics.load(words, index) < atLeast; spins++) {
    if (spins < 2000) continue;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    Bun.sleepSync(1);
  }
}

/** Child: count itself in, then wait for the parent's go. */
export function arriveAndWaitForGo(words: BigInt64Array): void {
  Atomics.add(words, counter.arrived, 1n);
  waitFor(words, counter.go, 1n, "the parent's go");
}

/** Parent: wait (without blocking the event loop) until `processes` have arrived, then let them go. */
export async function releaseWhenArrived(words: BigInt64Array, processes: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Atomics.load(words, counter.arrived) < BigInt(processes)) {
    if (Date.now() > deadline) throw new Error(`only ${Atomics.load(words, counter.arrived)} of ${processes} processes arrived`);
    await Bun.sleep(5);
  }
  Atomics.store(words, counter.go, 1n);
}

/**
 * A rendezvous of `processes` processes, `round` after round: no process leaves
 * round r before all of them have reached it. Called inside insert's initializer,
 * it holds every writer between "this slot is empty" and publishing its record,
 * so that all of them publish into the same empty slot: the race on the slot is
 * certain, not hoped for.
 */
export function rendezvous(words: BigInt64Array, processes: number, round: number): void {
  const target = BigInt((round + 1) * processes);
  Atomics.add(words, counter.rendezvous, 1n);
  // A pure spin first: the writers must leave together, within nanoseconds, for
  // their publications to overlap; a sleeping waiter would wake a millisecond late.
  for (let spins = 0; spins < 1_000_000; spins++) if (Atomics.load(words, counter.rendezvous) >= target) return;
  waitFor(words, counter.rendezvous, target, `all ${processes} writers at rendezvous ${round}`);
}
