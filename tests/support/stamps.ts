/**
 * What the multi-process tests write into allocations and how they check it.
 *
 * The user bytes before the header (testHeaderOffset of them) hold a start barrier,
 * so that child processes allocate at the same moment rather than one after another,
 * and a progress word per child for the crash test.
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

/** The byte every stamped allocation of (child, sequence) is filled with. */
export function stampByte(child: number, sequence: number): number {
  return ((child + 1) * 97 + sequence * 13) & 0xff;
}

export function stamp(view: Uint8Array, child: number, sequence: number): void {
  view.fill(stampByte(child, sequence));
}

export function isStamped(view: Uint8Array, child: number, sequence: number): boolean {
  const expected = stampByte(child, sequence);
  for (let index = 0; index < view.length; index++) if (view[index] !== expected) return false;
  return true;
}

export interface ChildAllocations {
  child: number;
  allocations: [number, number][];
}

/**
 * Every property a correct arena guarantees for concurrent allocations. Returns a
 * list of violations (empty when all hold), so a test of a broken variant can
 * assert that it is caught.
 */
export function findViolations(arena: MappedFileRegionArena, reports: ChildAllocations[]): string[] {
  const problems: string[] = [];
  const firstOffset = arena.headerOffset + 32;
  const all: { offset: number; end: number; child: number; sequence: number; size: number }[] = [];
  let roundedTotal = 0;
  for (const { child, allocations } of reports) {
    allocations.forEach(([offset, size], sequence) => {
      const rounded = Math.ceil(size / 8) * 8;
      roundedTotal += rounded;
      all.push({ offset, end: offset + rounded, child, sequence, size });
      if (offset % 8 !== 0) problems.push(`child ${child} #${sequence}: offset ${offset} not aligned`);
      if (offset < firstOffset || offset + size > arena.size) {
        problems.push(`child ${child} #${sequence}: [${offset}, ${offset + size}) outside [${firstOffset}, ${arena.size})`);
      }
    });
  }
  all.sort((a, b) => a.offset - b.offset);
  for (let index = 1; index < all.length; index++) {
    const previous = all[index - 1]!;
    const current = all[index]!;
    if (current.offset < previous.end) {
      problems.push(`overlap: child ${previous.child} #${previous.sequence} and child ${current.child} #${current.sequence} at ${current.offset}`);
    }
  }
  for (const entry of all) {
    if (entry.offset + entry.size > arena.capacity) continue;
    if (!isStamped(arena.bytes(entry.offset, entry.size), entry.child, entry.sequence)) {
      problems.push(`child ${entry.child} #${entry.sequence} at ${entry.offset}: stamp overwritten`);
    }
  }
  if (arena.size !== firstOffset + roundedTotal) {
    problems.push(`size ${arena.size} != header end ${firstOffset} + rounded sizes ${roundedTotal}`);
  }
  return problems;
}
