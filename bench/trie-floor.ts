/**
 * The C floor of the trie's find (bench/children/trie-walk.c): compiled with the
 * machine's C compiler when the benchmark runs (like any C in this project, it is
 * not shipped), loaded with bun:ffi and called once per round, so its loop runs
 * in C and the ~10 ns of one FFI call spreads over thousands of lookups.
 * bun:ffi is used here, outside lib/, only to reach this benchmark's own C.
 */
import { dlopen, FFIType, ptr } from "bun:ffi";
import { join } from "node:path";
import { scratchPath } from "./scratch.ts";

export interface TrieWalkFloor {
  /**
   * Looks up `count` keys from position `first` of `hashes` (wrapping); returns how
   * many were found. `chained`: each lookup waits for the previous one's result
   * (latency), instead of overlapping with it (throughput); see trie-walk.c.
   */
  findMany(first: number, count: number, chained?: boolean): number;
  /** This thread's CPU time in ns (clock_gettime CLOCK_THREAD_CPUTIME_ID). */
  threadCpuNs(): number;
  close(): void;
}

/** `hashes`: 32-byte keys one after another, in the order they are to be looked up. */
export function loadTrieWalkFloor(triePath: string, hashes: Uint8Array): TrieWalkFloor {
  const library = scratchPath("trie-walk").replace(/\.bin$/, ".so");
  const source = join(import.meta.dir, "children", "trie-walk.c");
  const compile = Bun.spawnSync(["cc", "-O2", "-std=gnu11", "-Wall", "-Werror", "-shared", "-fPIC", "-o", library, source], { stderr: "pipe" });
  if (!compile.success) throw new Error(`cannot compile the C floor (is a C compiler installed as cc?): ${compile.stderr}`);
  const { symbols, close } = dlopen(library, {
    trie_walk_open: { args: [FFIType.cstring], returns: FFIType.i32 },
    trie_walk_close: { args: [], returns: FFIType.void },
    thread_cpu_ns: { args: [], returns: FFIType.i64_fast },
    trie_walk_find_many: { args: [FFIType.ptr, FFIType.i64_fast, FFIType.i64_fast, FFIType.i64_fast, FFIType.i64_fast], returns: FFIType.i64_fast },
  });
  const status = symbols.trie_walk_open(Buffer.from(`${triePath}\0`));
  if (status !== 0) throw new Error(`the C floor cannot open ${triePath} (${status})`);
  const hashesPointer = ptr(hashes);
  const keys = hashes.length / 32;
  return {
    findMany: (first, count, chained = false) => Number(symbols.trie_walk_find_many(hashesPointer, keys, first, count, chained ? 1 : 0)),
    threadCpuNs: () => Number(symbols.thread_cpu_ns()),
    close() {
      symbols.trie_walk_close();
      close();
    },
  };
}
