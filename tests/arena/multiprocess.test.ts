/**
 * Several Bun processes allocate and stamp thousands of allocations each in one
 * arena at the same moment; the parent then proves every allocation disjoint,
 * aligned, inside `size`, its stamp intact, and `size` equal to the header's end
 * plus the sum of the rounded sizes.
 *
 * Broken variant caught: bumping the header word with a plain read-then-write
 * instead of Atomics.add. The second test runs exactly that variant through the
 * same checker and requires it to be caught. The variant's first bump waits,
 * between its read and its write, for another child to read (barrier.collide),
 * so at least two allocations overlap by construction, not by luck: one run
 * suffices on any machine. Observed while writing this test
 * (4 x 20,000 allocations, 2 cores, three runs): 20,481 / 26,567 / 30,532
 * overlapping pairs, 37k-55k violations in all, and `size` 20-30% short of the
 * sum of the sizes handed out (e.g. 5,786,920 instead of 8,280,520).
 */
import { describe, expect, test } from "bun:test";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { findViolationsInFile, type ChildAllocations } from "../support/allocations.ts";
import { fileBarrier, testHeaderOffset } from "../support/barrier.ts";
import { jsonFromChildren, spawnChild } from "../support/processes.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory();
const children = 4;
const allocationsPerChild = 20_000;

async function raceChildren(mode: "atomic" | "read-then-write") {
  const path = freshPath(directory);
  // The parent creates the arena and closes it: it never maps the file while the
  // children work, so no bug in their closes can kill the test runner.
  MappedFileRegionArena.create(path, { capacity: 64 * 1024 * 1024, headerOffset: testHeaderOffset }).close();
  const processes = Array.from({ length: children }, (_, child) =>
    spawnChild("allocate-and-stamp.ts", [path, child, allocationsPerChild, mode]),
  );
  await fileBarrier(path).releaseWhenArrived(children);
  const reports: ChildAllocations[] = await jsonFromChildren<ChildAllocations>(processes);
  return { reports, violations: findViolationsInFile(path, testHeaderOffset, reports) };
}

describe("concurrent allocation from several processes", () => {
  test(`${children} processes x ${allocationsPerChild} allocations: disjoint, aligned, stamped, size exact`, async () => {
    const { reports, violations } = await raceChildren("atomic");
    expect(reports.map((report) => report.allocations.length)).toEqual(Array(children).fill(allocationsPerChild));
    expect(violations).toEqual([]);
  });

  test("the checker catches the broken variant: read-then-write instead of Atomics.add", async () => {
    const { violations } = await raceChildren("read-then-write");
    expect(violations.some((violation) => violation.startsWith("overlap"))).toBe(true);
  });
});
