/**
 * Review of issue 13 item 2 (read-only opens): corruption fuzzing of the
 * READ-ONLY paths, which the project's fuzzers (tests/trie/fuzz.test.ts,
 * tests/log/corrupt.test.ts) only run through writers' opens. A reader maps the
 * file's length, not the capacity, so it needs its own check. Nothing found:
 * these pass on main (tried: 9,000 trie and 4,500 pool cases over three seeds,
 * 3,000 arena-header and 1,000 log cases). Kept small here, as a regression net.
 *
 * Each batch runs in a child that is killed if it prints nothing for 60 s (a
 * loop); a signal or a non-ArenaError fails the test with the case to replay.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { tempDirectory } from "../../support/temp.ts";
import { runWatchedChild } from "../../support/watched-children.ts";

const directory = tempDirectory("review-ro-fuzz-", existsSync("/dev/shm") ? "/dev/shm" : undefined);
const seed = Number(process.env.READ_ONLY_FUZZ_SEED ?? 20261127);

async function expectClean(script: string, args: (string | number)[]): Promise<void> {
  const result = await runWatchedChild(`../../review/read-only/children/${script}`, [directory, ...args], 60_000);
  const lastCase = result.lines.findLast((line) => line.startsWith("case "));
  const failure = result.lines.findIndex((line) => line.startsWith("FAIL"));
  const what = result.stalled ? `silent for 60 s in ${lastCase}` : failure >= 0 ? result.lines.slice(failure).join("\n") : `${lastCase}: ${result.stderr.slice(-2000)}`;
  expect({ exitCode: result.exitCode, signal: result.signalCode, what: result.lines.at(-1) === "summary ok" ? "ok" : what }).toEqual({
    exitCode: 0,
    signal: null,
    what: "ok",
  });
}

describe("corrupt files opened read-only", () => {
  test("tries: openReadOnly, find, findOffset, recoverFromOffset, iteration, validate", async () => {
    await expectClean("fuzz-read-only.ts", [seed, 0, 600, "trie"]);
  }, 120_000);
  test("data pools: openReadOnly, userHeader, get", async () => {
    await expectClean("fuzz-read-only.ts", [seed, 0, 400, "pool"]);
  }, 120_000);
  test("arena headers and file lengths: openReadOnly, size, bytes", async () => {
    await expectClean("fuzz-arena-log-read-only.ts", [seed, 600, "arena"]);
  }, 120_000);
  test("record logs: openReadOnly, records, forEachRecord, read, stats", async () => {
    await expectClean("fuzz-arena-log-read-only.ts", [seed, 200, "log"]);
  }, 120_000);
});
