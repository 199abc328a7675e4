/**
 * Corruption fuzzing of read-only opens (review of issue 13 item 2, "tried,
 * nothing found": kept small, as a regression net). The project's fuzzers run
 * the formats through writers' opens; a reader maps and bounds differently
 * (lib/arena/read-only.ts), so it needs its own. Each batch runs in a child that
 * is killed if it prints nothing for 60 s (a loop); a signal or anything but an
 * ArenaError fails the test with the case to replay.
 */
import { expect } from "bun:test";
import { existsSync } from "node:fs";
import { tempDirectory } from "./temp.ts";
import { runWatchedChild } from "./watched-children.ts";

/** A folder for one test file's cases (in memory where it can be), removed after that file. */
export function readOnlyFuzzFolder(): string {
  return tempDirectory("read-only-fuzz-", existsSync("/dev/shm") ? "/dev/shm" : undefined);
}

export const readOnlyFuzzSeed = Number(process.env.READ_ONLY_FUZZ_SEED ?? 20261127);

/** Runs `script` (a path from tests/support/children) in `directory` and expects "summary ok". */
export async function expectCleanReadOnlyFuzz(directory: string, script: string, args: (string | number)[]): Promise<void> {
  const result = await runWatchedChild(script, [directory, ...args], 60_000);
  const lastCase = result.lines.findLast((line) => line.startsWith("case "));
  const failure = result.lines.findIndex((line) => line.startsWith("FAIL"));
  const what = result.stalled ? `silent for 60 s in ${lastCase}` : failure >= 0 ? result.lines.slice(failure).join("\n") : `${lastCase}: ${result.stderr.slice(-2000)}`;
  expect({ exitCode: result.exitCode, signal: result.signalCode, what: result.lines.at(-1) === "summary ok" ? "ok" : what }).toEqual({
    exitCode: 0,
    signal: null,
    what: "ok",
  });
}
