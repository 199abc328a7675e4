/**
 * Corrupt arena headers and file lengths opened READ-ONLY (from the review of
 * issue 13 item 2, which found nothing: kept as a regression net). A reader maps
 * the capacity but may touch only what lies inside the file: random header
 * words and file lengths must give an ArenaError (or bytes()'s documented
 * RangeError), never a signal. See tests/support/read-only-fuzz.ts.
 */
import { test } from "bun:test";
import { expectCleanReadOnlyFuzz, readOnlyFuzzFolder, readOnlyFuzzSeed } from "../support/read-only-fuzz.ts";

const directory = readOnlyFuzzFolder();

test("corrupt arenas opened read-only: openReadOnly, size, bytes", async () => {
  await expectCleanReadOnlyFuzz(directory, "fuzz-arena-log-read-only.ts", [readOnlyFuzzSeed, 600, "arena"]);
}, 120_000);
