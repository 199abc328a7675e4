/**
 * Loading the words other processes store to (a bump pointer, a trie slot, a
 * log block's commit word), for writers and for read-only openers.
 *
 * The effect we want: a load that sees the latest store of every other process,
 * and orders this process's later loads after it (so the bytes a word publishes
 * are read after the word), without ever writing to the mapping.
 *
 * Why the obvious way fails: JavaScriptCore implements Atomics.load as an atomic
 * fetch-and-add of zero (WTF's Atomic::loadFullyFenced), which is a write. A
 * read-only opener's mapping is MAP_PRIVATE (read-only.ts: a write through a view
 * must not reach the file, nor kill the process), and a write to a private page,
 * even of the value already there, makes the kernel copy it: from then on that
 * page is this process's snapshot, and no writer's later store to it is seen. A
 * reader then waits forever for a commit, or finds a trie slot pointing past a
 * bump pointer it reads from its frozen copy of the header. Measured with Bun
 * 1.4.5 (the page's Private_Dirty in /proc/self/smaps): on arm64 every
 * Atomics.load does this, in every tier; on x86-64 an Int32Array load does once
 * the DFG compiles it (a BigInt64Array load stays a plain mov). Plain loads and
 * `ldar` do not, natively or under qemu (docs/DESIGN.md, "Read-only opens", 5,
 * has the measurements). A PROT_READ mapping instead turns that fetch-and-add
 * into SIGSEGV; a shared writable one needs write permission to the file.
 *
 * The way chosen: an opener picks its loads once, at open. Writers (shared
 * mappings) keep Atomics.load. Read-only openers read the element plainly (an
 * aligned load of the word's width, which neither architecture tears) and then
 * fence: an atomic read-modify-write on a word of this process's own, which is a
 * full barrier as JavaScriptCore compiles it (a locked `xadd` on x86-64; on arm64
 * `ldaddal`, from the LSE atomics Bun's arm64 builds are compiled for), so no
 * later load is performed before the word was, and the optimizer moves no load
 * across it.
 *
 * What it gives up: a reader's load costs a plain load and an uncontended atomic
 * on a private cache line, about what the writers' contended one costs. The
 * argument leans on how JavaScriptCore compiles Atomics, which JavaScript's
 * memory model does not promise (it has no fences); the read-only tests check
 * the effect (no page of a reader's mapping copied, writers' stores seen) on
 * each architecture CI runs. On an arm64 core without LSE (ARMv8.0), a build
 * using load/store-exclusive pairs would make the fence weaker: it orders a
 * load with the loads after the next fence, not always with the very next one.
 */

/** The loads one opener uses on words that other processes store to. */
export interface WordLoads {
  int32(words: Int32Array, index: number): number;
  int64(words: BigInt64Array, index: number): bigint;
  uint64(words: BigUint64Array, index: number): bigint;
}

/** Writers' loads: Atomics.load, on a shared mapping where its write is harmless. */
export const atomicWordLoads: WordLoads = {
  int32: (words, index) => Atomics.load(words, index),
  int64: (words, index) => Atomics.load(words, index),
  uint64: (words, index) => Atomics.load(words, index),
};

/** The fence's own word: nobody else ever touches it, so its cache line stays ours. */
const fenceWord = new Int32Array(1);

/** A full barrier in JavaScriptCore's compiled code; see the comment at the top. */
function fence(): void {
  Atomics.add(fenceWord, 0, 0);
}

/** Read-only openers' loads: a plain load, then a fence. They never write to the page. */
export const copyFreeWordLoads: WordLoads = {
  int32(words, index) {
    const value = words[index]!;
    fence();
    return value;
  },
  int64(words, index) {
    const value = words[index]!;
    fence();
    return value;
  },
  uint64(words, index) {
    const value = words[index]!;
    fence();
    return value;
  },
};

/** For tests (read-only-testing.ts): "atomic-loads" gives read-only openers the writers' loads. */
export const wordLoadsVariant: { broken: "atomic-loads" | null } = { broken: null };

/** The loads for an opener of a mapping that is read-only (private) or not. */
export function wordLoadsFor(readOnly: boolean): WordLoads {
  return readOnly && wordLoadsVariant.broken === null ? copyFreeWordLoads : atomicWordLoads;
}
