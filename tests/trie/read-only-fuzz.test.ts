/**
 * Corrupt trie databases and data pools opened READ-ONLY (from the review of
 * issue 13 item 2, which found nothing: kept as a regression net). A reader may
 * touch only what lies inside the file (lib/arena/read-only.ts), a narrower bound
 * than a writer's, so the trie's checks must hold there too. See
 * tests/support/read-only-fuzz.ts.
 */
import { describe, test } from "bun:test";
import { expectCleanReadOnlyFuzz, readOnlyFuzzFolder, readOnlyFuzzSeed } from "../support/read-only-fuzz.ts";

const directory = readOnlyFuzzFolder();

describe("corrupt trie files opened read-only", () => {
  test("tries: openReadOnly, find, findOffset, recoverFromOffset, iteration, validate", async () => {
    await expectCleanReadOnlyFuzz(directory, "../../trie/children/fuzz-read-only.ts", [readOnlyFuzzSeed, 0, 600, "trie"]);
  }, 120_000);
  test("data pools: openReadOnly, userHeader, get", async () => {
    await expectCleanReadOnlyFuzz(directory, "../../trie/children/fuzz-read-only.ts", [readOnlyFuzzSeed, 0, 400, "pool"]);
  }, 120_000);
});
