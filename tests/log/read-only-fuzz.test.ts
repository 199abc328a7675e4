/**
 * Corrupt record logs opened READ-ONLY (from the review of issue 13 item 2,
 * which found nothing: kept as a regression net): byte flips and truncations
 * must give an ArenaError (or read()'s documented RangeError), never a signal or
 * a loop. tests/log/corrupt.test.ts runs the same through writers' opens. See
 * tests/support/read-only-fuzz.ts.
 */
import { test } from "bun:test";
import { expectCleanReadOnlyFuzz, readOnlyFuzzFolder, readOnlyFuzzSeed } from "../support/read-only-fuzz.ts";

const directory = readOnlyFuzzFolder();

test("corrupt logs opened read-only: openReadOnly, records, forEachRecord, read, stats", async () => {
  await expectCleanReadOnlyFuzz(directory, "fuzz-arena-log-read-only.ts", [readOnlyFuzzSeed, 200, "log"]);
}, 120_000);
