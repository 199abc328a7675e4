/**
 * Child process of tests/trie/fuzz.test.ts: runs a batch of corruption cases.
 *
 *   bun fuzz-cases.ts DIRECTORY SEED FIRST_CASE CASES [--target=trie|pool] [--verbose] [--inject=hang|throw|segv@CASE]
 *
 * The target (tests/trie/children/fuzz-targets.ts) builds a few small healthy
 * files: tries with tiny roots and subtries and a few hundred keys, so that
 * subtries go several levels deep, or data pools with blocks and a user header.
 * For each case it derives a random number generator from (SEED, case), corrupts
 * a copy of one of them (tests/support/trie-mutations.ts, pool-mutations.ts) and
 * uses the result as a user would: open, find, recoverFromOffset, iterate,
 * validate, insert; or open, userHeader, get, allocate. Every one of those may
 * throw an ArenaError; anything else (a TypeError, a RangeError from a DataView, a
 * native crash, a loop) is a bug.
 *
 * Before each case it writes "case N" to stdout with a system call, so that when
 * the process dies or hangs the parent knows which case did it; a failing case is
 * replayed alone with FIRST_CASE=N CASES=1 --verbose. At the end it prints a
 * JSON summary line: how many cases opened, were refused, failed validation.
 */
import { rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ArenaError } from "../../../lib/index.ts";
import { prng } from "../../support/random.ts";
import { poolTarget, trieTarget, type FuzzContext } from "./fuzz-targets.ts";

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

const say = (line: string) => writeSync(1, `${line}\n`);
const casePath = join(directory, `case-${process.pid}.bin`);
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

const target = (flags.includes("--target=pool") ? poolTarget : trieTarget)(directory);
const context: FuzzContext = {
  step,
  count: (outcome) => void summary[outcome]++,
  fail(message) {
    throw new NotAnArenaError(message);
  },
};

for (let index = firstCase; index < firstCase + cases; index++) {
  say(`case ${index}`);
  const random = prng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const variant = Math.floor(random() * target.variants);
  const { file, steps } = target.corrupt(variant, random);
  if (verbose) say(`  ${target.describe(variant)}; ${steps.join("; ")}`);
  rmSync(casePath, { force: true });
  writeFileSync(casePath, file);
  summary.cases++;
  try {
    step("injected fault", () => injectFault(index));
    target.exercise(context, variant, random, casePath, file.length);
  } catch (error) {
    say(`FAIL case ${index} (seed ${seed}): ${steps.join("; ")}`);
    say(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  }
}
rmSync(casePath, { force: true });
rmSync(`${casePath}.shared`, { force: true });
say(`summary ${JSON.stringify(summary)}`);
