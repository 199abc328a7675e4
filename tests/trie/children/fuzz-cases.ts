/**
 * Child process of tests/trie/fuzz.test.ts: runs a batch of corruption cases.
 *
 *   bun fuzz-cases.ts DIRECTORY SEED FIRST_CASE CASES [--verbose] [--inject=hang|throw|segv@CASE]
 *
 * It builds a few small healthy tries (tiny root and subtries, a few hundred keys,
 * so that the file has subtries several levels deep), then for each case derives
 * a random number generator from (SEED, case), corrupts a copy of one of them
 * (tests/support/trie-mutations.ts) and uses the result as a user would: open,
 * find, recoverFromOffset, iterate, validate, insert. Every one of those may throw
 * an ArenaError; anything else (a TypeError, a RangeError from a DataView, a
 * native crash, a loop) is a bug.
 *
 * Before each case it writes "case N" to stdout with a system call, so that when
 * the process dies or hangs the parent knows which case did it; a failing case is
 * replayed alone with FIRST_CASE=N CASES=1 --verbose. At the end it prints a
 * JSON summary line: how many cases opened, were refused, failed validation.
 */
import { readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ArenaError, OnDiskTrieRawHashMap } from "../../../lib/index.ts";
import { prng } from "../../support/random.ts";
import { readTrieLayout, type TrieLayout } from "../../support/trie-layout.ts";
import { dataBytes, keyHash, writeKeyData } from "../../support/trie-keys.ts";
import { mutate } from "../../support/trie-mutations.ts";

const [directory = ".", seedText, firstText, countText, ...flags] = process.argv.slice(2);
const seed = Number(seedText);
const firstCase = Number(firstText);
const cases = Number(countText);
const verbose = flags.includes("--verbose");
// The harness's own test: --inject=KIND@CASE makes that case hang, throw a
// TypeError or die of SIGSEGV, as a bug in the library would.
const injection = /^--inject=(hang|throw|segv)@(\d+)$/.exec(flags.find((flag) => flag.startsWith("--inject=")) ?? "");

function injectFault(index: number): void {
  if (!injection || Number(injection[2]) !== index) return;
  if (injection[1] === "hang") for (;;) Bun.sleepSync(1000);
  if (injection[1] === "segv") process.kill(process.pid, "SIGSEGV");
  throw new TypeError("injected: not an ArenaError");
}

const capacity = 1024 * 1024;
const baseKeys = 300;
const shapes = [
  { rootBits: 2, subtrieBits: 1 },
  { rootBits: 3, subtrieBits: 2 },
  { rootBits: 4, subtrieBits: 1 },
  { rootBits: 2, subtrieBits: 2 },
] as const;

const optionsFor = (shape: (typeof shapes)[number]) => ({ name: "index", hashBits: 256, dataBytes, capacity, ...shape });

function buildHealthy(shape: (typeof shapes)[number], index: number): { file: Uint8Array; layout: TrieLayout } {
  const path = join(directory, `healthy-${process.pid}-${index}.bin`);
  const map = OnDiskTrieRawHashMap.create(path, optionsFor(shape));
  for (let i = 0; i < baseKeys; i++) map.insert(keyHash(i), (data) => writeKeyData(data, i, 0));
  map.close();
  const file = new Uint8Array(readFileSync(path));
  rmSync(path, { force: true });
  rmSync(`${path}.shared`, { force: true });
  return { file, layout: readTrieLayout(file) };
}

const say = (line: string) => writeSync(1, `${line}\n`);
const healthy = shapes.map(buildHealthy);
const casePath = join(directory, `case-${process.pid}.bin`);
const hash = new Uint8Array(32);
const summary = { cases: 0, opened: 0, refused: 0, validateThrew: 0, validateClean: 0, arenaErrors: 0 };

class NotAnArenaError extends Error {}

/** Runs one step; an ArenaError is an acceptable outcome (counted), anything else is the bug we look for. */
function step<T>(name: string, run: () => T): T | undefined {
  try {
    return run();
  } catch (error) {
    if (error instanceof ArenaError) {
      summary.arenaErrors++;
      if (verbose) say(`  ${name}: ArenaError ${error.code}: ${error.message}`);
      return undefined;
    }
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    throw new NotAnArenaError(`${name} threw a non-ArenaError: ${text}`);
  }
}

function exercise(caseIndex: number, random: () => number, shape: (typeof shapes)[number], fileBytes: number): void {
  step("injected fault", () => injectFault(caseIndex));
  const map = step("open", () => OnDiskTrieRawHashMap.create(casePath, optionsFor(shape)));
  if (!map) {
    summary.refused++;
    return;
  }
  summary.opened++;
  try {
    for (let probe = 0; probe < 24; probe++) {
      const key = probe < 20 ? Math.floor(random() * baseKeys) : baseKeys + 1000 + probe;
      step(`find ${key}`, () => map.find(keyHash(key, hash)));
    }
    for (let probe = 0; probe < 4; probe++) {
      const offset = Math.floor(random() * (fileBytes + 64));
      step(`recoverFromOffset ${offset}`, () => map.recoverFromOffset(offset));
    }
    // The iterator must end by itself: a file of N bytes cannot hold more than N / 8 records.
    step("iterate", () => {
      let records = 0;
      for (const _record of map) {
        if (++records > capacity / 8) throw new NotAnArenaError("iteration yields more records than the file can hold: a loop");
      }
    });
    const report = step("validate", () => map.validate(() => {}));
    if (report === undefined) summary.validateThrew++;
    else summary.validateClean++;
    for (let insert = 0; insert < 6; insert++) {
      const key = insert < 3 ? Math.floor(random() * baseKeys) : baseKeys + Math.floor(random() * 1000);
      step(`insert ${key}`, () => map.insert(keyHash(key, hash), (data) => writeKeyData(data, key, 1)));
    }
  } finally {
    step("close", () => map.close());
  }
}

for (let index = firstCase; index < firstCase + cases; index++) {
  say(`case ${index}`);
  const random = prng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const which = Math.floor(random() * shapes.length);
  const { file, steps } = mutate(healthy[which]!.file, healthy[which]!.layout, random);
  if (verbose) say(`  shape ${JSON.stringify(shapes[which])}; ${steps.join("; ")}`);
  rmSync(casePath, { force: true });
  writeFileSync(casePath, file);
  summary.cases++;
  try {
    exercise(index, random, shapes[which]!, file.length);
  } catch (error) {
    say(`FAIL case ${index} (seed ${seed}): ${steps.join("; ")}`);
    say(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  }
}
rmSync(casePath, { force: true });
rmSync(`${casePath}.shared`, { force: true });
say(`summary ${JSON.stringify(summary)}`);
