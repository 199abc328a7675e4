/**
 * Review 4, a creator killed inside onCreate, after writing the bytes before
 * its header.
 *
 * docs/guarantees.md: "A failed or interrupted creation is redone ... Killed
 * before the capacity store, the next create that finds nobody else holding
 * the file creates it afresh". The next opener finds the marked header at its
 * headerOffset (judgeHeader: "creation-interrupted"), and
 * protocol.ts discardInterruptedCreation first calls throwIfHeaderIsElsewhere,
 * which scans the first 64 KiB for a plausible header at another offset
 * (header.ts findHeader). With headerOffset 8, position 0 reads as one: its
 * "headerOffset" word (offset 24) is the unfinished header's capacity, 0; its
 * "capacity" (offset 16) is the creation marker, which findHeader takes for a
 * huge capacity (judgeHeader would refuse it as above 2^53); its "bumpPtr" is
 * the caller's 8 bytes, plausible whenever their first byte is a multiple of 8
 * ('H', 'P', 'X', '0', '8', 'h', 'p', 'x', ...). So the file is reported as
 * ERR_ARENA_HEADER_MISMATCH "has its header at offset 0, not at 8" by every open,
 * forever, and is never created.
 *
 * Control in the same test: the tag "MYFMT001" (arena.md's own example; 'M' is
 * odd) is redone as promised.
 */
import { expect, test } from "bun:test";
import { freshPath, tempDirectory } from "../../support/temp.ts";
import { lastJson, runReviewChild } from "./run-child.ts";

const directory = tempDirectory("mfa-review4-interrupted-");

async function killThenOpen(tag: string): Promise<Record<string, unknown>> {
  const path = freshPath(directory);
  const killed = await runReviewChild("killed-in-oncreate-child.ts", ["kill", path, tag]);
  expect(killed.signalCode).toBe("SIGKILL");
  const opened = await runReviewChild("killed-in-oncreate-child.ts", ["open", path, tag]);
  expect(opened.exitCode).toBe(0);
  return lastJson(opened);
}

// Expected: {opened: true, tag: "PACKFMT1", size: 40} (the creation redone).
// Observed: {code: "ERR_ARENA_HEADER_MISMATCH", message: "... has its header at
// offset 0, not at 8"}, on this and every later open.
test("a creator killed in onCreate after writing a prefix that starts with 'P' (or 'M') leaves a file the next open creates afresh (review 4 #2)", async () => {
  expect(await killThenOpen("MYFMT001")).toEqual({ opened: true, tag: "MYFMT001", size: 40 }); // the control
  expect(await killThenOpen("PACKFMT1")).toEqual({ opened: true, tag: "PACKFMT1", size: 40 });
});
