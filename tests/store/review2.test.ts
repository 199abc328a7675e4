// Content-store (view) defects found by the second independent review (branch
// review-remote). Each test is named for what SHOULD hold and fails on the code as
// reviewed; FINDINGS.md explains each under the same number. Anything that touches
// memory after close runs in a child process (tests/store/children/review2-child.ts).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { tempDirectory } from "../support/temp.ts";
import { runToEnd, spawnStoreChild } from "./support.ts";

const root = tempDirectory("review2-store-");

// Finding 5: docs/store.md (Views) says a view's transferred buffer "is then yours and out of
// the store's reach (after close it reads zeros)". It reads zeros only until the placeholder
// under it leaves the quarantine (two ranges per length: one store's index and pool): the
// next stores opened in this thread map their files over it, and the taken bytes then show
// another store's object; a write through them changes that store's file on disk.
test("review2 finding 5: a view's buffer transferred away never shows (nor writes) another store's object after close", async () => {
  const result = await runToEnd(spawnStoreChild("review2-child.ts", ["stolen-alias", join(root, "stolen")]), 120_000);
  expect(result.exitCode).toBe(0); // never a fault
  const { zerosAfterClose, rounds } = JSON.parse(result.stdout) as {
    zerosAfterClose: boolean;
    rounds: { otherObject: boolean; zeros: boolean; writeCorruptedOther: boolean }[];
  };
  expect(zerosAfterClose).toBe(true);
  expect(rounds.filter((round) => round.otherObject)).toEqual([]); // measured: round 3 shows other-3's object ...
  expect(rounds.filter((round) => round.writeCorruptedOther)).toEqual([]); // ... and the write corrupts it on disk
}, 130_000);
