/**
 * Corrupt trie files never kill the process that reads them: 10,000 corrupted
 * copies of small healthy tries (byte flips, truncations, slots pointing anywhere,
 * subtrie loops, header garbage; tests/support/trie-mutations.ts), each opened,
 * searched, iterated, validated and inserted into, throw nothing but ArenaError.
 * So do 2,000 corrupted data pools (tests/support/pool-mutations.ts), opened, read
 * and allocated from.
 *
 * The cases run in child processes (tests/trie/children/fuzz-cases.ts), a batch
 * each, two at a time: a SIGSEGV, SIGBUS or uncaught error ends only its child,
 * and a child that prints nothing for a while (a loop on a corrupt file) is killed;
 * either way the test fails naming the seed and the case, with the command that
 * replays it alone.
 *
 * And validate does not only survive: for each corruption that changes what the
 * trie means (a record in another slot or two, a subtrie loop, a shared child, a
 * wrong start bit, a record's hash changed in its path bits; see
 * tests/support/trie-corruptions.ts), it throws ERR_ARENA_CORRUPT saying where.
 *
 * Longer runs: TRIE_FUZZ_CASES=200000 TRIE_FUZZ_POOL_CASES=50000 TRIE_FUZZ_SEED=7 npm test -- tests/trie/fuzz.test.ts
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { runChild } from "../support/processes.ts";
import { tempDirectory } from "../support/temp.ts";
import { meaningCorruptions } from "../support/trie-corruptions.ts";
import { runWatchedChild } from "../support/watched-children.ts";
import { slowdown } from "../support/speed.ts";

// Thousands of small files written and mapped: tmpfs keeps the disk out of it.
const directory = tempDirectory("trie-fuzz-", existsSync("/dev/shm") ? "/dev/shm" : undefined);
const totalCases = Number(process.env.TRIE_FUZZ_CASES ?? 10_000);
const poolCases = Number(process.env.TRIE_FUZZ_POOL_CASES ?? 2_000);
const seed = Number(process.env.TRIE_FUZZ_SEED ?? 20261126);
const casesPerChild = 1000;
const childrenAtOnce = 2;
/** A case takes milliseconds; this long without a line means a loop (or a machine far past loaded). */
const quietMs = 30_000;

interface Summary {
  cases: number;
  opened: number;
  refused: number;
  validateThrew: number;
  validateClean: number;
  arenaErrors: number;
}

async function runBatch(firstCase: number, cases: number, extra: string[] = [], quietLimitMs = quietMs): Promise<Summary> {
  const result = await runWatchedChild("../../trie/children/fuzz-cases.ts", [directory, seed, firstCase, cases, ...extra], quietLimitMs);
  const lastCase = result.lines.findLast((line) => line.startsWith("case "));
  const replay = (index: string) =>
    ["replay: bun tests/trie/children/fuzz-cases.ts", '"$(mktemp -d)"', seed, index, 1, ...extra.filter((flag) => flag.startsWith("--target")), "--verbose"].join(" ");
  const summaryLine = result.lines.find((line) => line.startsWith("summary "));
  if (result.exitCode === 0 && summaryLine) return JSON.parse(summaryLine.slice("summary ".length)) as Summary;
  const failure = result.lines.findIndex((line) => line.startsWith("FAIL"));
  const index = lastCase?.slice("case ".length) ?? "?";
  const how = result.stalled
    ? `stopped printing for ${quietLimitMs / 1000} s (a loop?) in case ${index}`
    : failure !== -1
      ? result.lines.slice(failure).join("\n")
      : `died (${result.exitCode ?? result.signalCode}) in case ${index}: ${result.stderr.slice(-2000)}`;
  throw new Error(`fuzz seed ${seed}: ${how}\n${replay(index)}`);
}

/** Runs `cases` cases of `target` in batches, two children at a time; the summaries added up. */
async function fuzz(target: "trie" | "pool", cases: number): Promise<Summary> {
  const batches: [number, number][] = [];
  for (let first = 0; first < cases; first += casesPerChild) batches.push([first, Math.min(casesPerChild, cases - first)]);
  const summaries: Summary[] = [];
  const started = performance.now();
  const workers = Array.from({ length: childrenAtOnce }, async () => {
    for (let batch = batches.shift(); batch; batch = batches.shift()) summaries.push(await runBatch(...batch, [`--target=${target}`]));
  });
  await Promise.all(workers);
  const total: Summary = { cases: 0, opened: 0, refused: 0, validateThrew: 0, validateClean: 0, arenaErrors: 0 };
  for (const summary of summaries) for (const key of Object.keys(total) as (keyof Summary)[]) total[key] += summary[key];
  console.log(`${target} fuzz: seed ${seed}, ${JSON.stringify(total)}, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return total;
}

describe("the trie and the data pool on corrupt files", () => {
  test(`${totalCases} corrupt tries: open, find, insert, iterate and validate throw only ArenaError`, async () => {
    const total = await fuzz("trie", totalCases);
    expect(total.cases).toBe(totalCases);
    // The fuzzer is only worth its time if most corrupt files get past the open and
    // reach the trie, and validate sees both kinds.
    expect(total.opened).toBeGreaterThan(totalCases * 0.4);
    expect(total.validateThrew).toBeGreaterThan(totalCases * 0.1);
    expect(total.validateClean).toBeGreaterThan(0);
  }, 600_000);

  test(`${poolCases} corrupt data pools: open, userHeader, get and allocate throw only ArenaError`, async () => {
    const total = await fuzz("pool", poolCases);
    expect(total.cases).toBe(poolCases);
    expect(total.opened).toBeGreaterThan(poolCases * 0.05);
  }, 600_000);
});

describe("the fuzzer's harness catches what it is there for", () => {
  // Faults injected at case 7 of a batch of 20, as a library bug would cause them.
  // The quiet limit grows with the run's slowdown: an emulated Bun takes seconds to start.
  const quietLimitMs = 3000 * slowdown;
  for (const [fault, expected] of [
    ["hang", new RegExp(`stopped printing for ${quietLimitMs / 1000} s \\(a loop\\?\\) in case 7\\n`)],
    ["segv", /died \(SIGSEGV\) in case 7: /],
    ["throw", /FAIL case 7 \(seed \d+\): .*\n.*TypeError: injected: not an ArenaError/],
  ] as const) {
    test(`a case that ${fault === "throw" ? "throws a TypeError" : fault === "hang" ? "hangs" : "dies of SIGSEGV"} is named, with its replay command`, async () => {
      const run = runBatch(0, 20, [`--inject=${fault}@7`], quietLimitMs);
      await expect(run).rejects.toThrow(expected);
      await expect(run).rejects.toThrow(/replay: bun tests\/trie\/children\/fuzz-cases.ts "\$\(mktemp -d\)" \d+ 7 1 --verbose/);
    }, 60_000 * slowdown);
  }
});

describe("validate on a trie whose meaning was changed", () => {
  for (const scenario of Object.keys(meaningCorruptions)) {
    const healthy = scenario === "none";
    test(healthy ? "the healthy file validates clean (the control)" : `${scenario}: ERR_ARENA_CORRUPT`, async () => {
      const result = await runChild("../../trie/children/validate-scenario.ts", [directory, scenario], 60_000);
      expect(result.stderr).toBe("");
      expect(result.exitCode).toBe(0);
      const outcome = JSON.parse(result.stdout) as { threw: boolean; code?: string; message?: string; records?: number };
      if (healthy) expect(outcome).toEqual({ threw: false, records: 300 });
      else {
        expect(outcome.code).toBe("ERR_ARENA_CORRUPT");
        expect(outcome.message).toMatch(/corrupt at offset 0x[0-9a-f]+/);
      }
    }, 60_000);
  }
});
