/**
 * A read-only opener's loads must not write to its mapping (lib/arena/word-loads.ts).
 * JavaScriptCore's Atomics.load is a fetch-and-add of zero; on a reader's private
 * mapping that copies the page, and the reader then misses the writer's later
 * stores to it: a log follower waits for ever, a trie slot points past a frozen
 * bump pointer. It showed first under arm64 emulation (every Atomics.load there),
 * but it is no emulation fault: natively on x86-64 the same happens to an
 * Int32Array load once the DFG compiles it, which is what this test makes happen.
 *
 * The child (children/read-only-loads.ts) reads with a writer beside it in the
 * same process, for the arena, the trie and the log, after enough rounds for its
 * loads to be compiled, and reports what it saw of the writer's later data and
 * how much of the file it holds as private copies (/proc/self/smaps).
 *
 * Broken variant caught, built in: "atomic-loads" (lib/arena/read-only-testing.ts),
 * readers loading with Atomics.load (the trie's slots included, which every
 * other opener loads plainly). The trie and the log go stale
 * on both architectures; the arena's bump pointer (a BigUint64Array, which x86-64
 * loads with a plain mov) only on arm64.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { childrenDirectory, finished } from "../support/processes.ts";
import { tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("mfa-read-only-loads-");
/** Reads per layer before the writer's second batch: far past the DFG's thresholds. */
const rounds = 200;

interface LayerReport {
  saw: number;
  expected: number;
  copiedKb: number;
  readBefore: boolean;
}

async function readBesideWriter(variant: "real" | "atomic-loads"): Promise<Record<"arena" | "trie" | "log", LayerReport>> {
  const where = join(directory, variant);
  mkdirSync(where);
  const child = Bun.spawn([process.execPath, join(childrenDirectory, "read-only-loads.ts"), where, variant, String(rounds)], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    // Compiled when a function reaches its threshold, not whenever a compiler thread is free.
    env: { ...process.env, BUN_JSC_useConcurrentJIT: "0" },
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  try {
    const result = await finished(child);
    if (result.exitCode !== 0) throw new Error(`child failed (${result.exitCode ?? result.signalCode}): ${result.stderr}`);
    return JSON.parse(result.stdout.trim().split("\n").at(-1)!);
  } finally {
    clearTimeout(timer);
  }
}

describe("a read-only opener's loads beside a writer", () => {
  test("copy no page: the arena, the trie and the log see every later store, once their loads are compiled", async () => {
    const report = await readBesideWriter("real");
    for (const layer of ["arena", "trie", "log"] as const) {
      expect({ layer, ...report[layer] }).toEqual({ layer, saw: report[layer].expected, expected: report[layer].expected, copiedKb: 0, readBefore: true });
    }
  }, 180_000);

  test("broken variant (readers use Atomics.load): pages are copied and the later stores are missed", async () => {
    const report = await readBesideWriter("atomic-loads");
    const stale = process.arch === "arm64" ? (["arena", "trie", "log"] as const) : (["trie", "log"] as const);
    for (const layer of stale) {
      expect(report[layer].readBefore).toBe(true);
      expect(report[layer].copiedKb).toBeGreaterThan(0);
      expect(report[layer].saw).toBeLessThan(report[layer].expected);
    }
  }, 180_000);
});
