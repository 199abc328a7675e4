/**
 * Review of issue 13 item 2 (read-only opens): every open and close of a reader
 * keeps its mapping's addresses forever when the file's length changed.
 *
 * close() never unmaps a viewed mapping: it puts zero pages over it and keeps the
 * range for a later mapping of the SAME length (lib/arena/placeholder-pool.ts:
 * "so closes do not leak them"; docs/guarantees.md: "opening and closing in a
 * loop does not run out of mappings"). A writer's mapping is always the capacity,
 * so its ranges are reused. A reader's is the file's length at open
 * (read-only.ts), which changes every time a writer appends and closes: no two
 * are the same length, none is ever reused, and a process that reopens a growing
 * log or store read-only leaks the file's length in address space per open
 * (measured: 6.5 GB to 33.7 GB of VmSize over 2000 opens of a file growing to
 * 24 MiB). Run in a child: the leak stays there.
 */
import { describe, expect, test } from "bun:test";
import { freshPath, tempDirectory } from "../../support/temp.ts";
import { finished, spawnChild } from "../../support/processes.ts";

const directory = tempDirectory("review-ro-address-");

describe("a reader reopened on a file that writers keep growing", () => {
  test("does not keep each closed mapping's addresses (VmSize stays bounded)", async () => {
    const path = freshPath(directory);
    const child = spawnChild("../../review/read-only/children/reopen-growing.ts", [path, 150, 256 * 1024]);
    const result = await finished(child);
    expect(result.exitCode).toBe(0);
    const { vmSizeGrowthBytes, lastFileBytes } = JSON.parse(result.stdout.trim().split("\n").pop()!);
    // 150 reopens of a file of up to ~38 MiB: without the leak, growth is a few
    // mappings of the file at most; with it, the sum of every length (~2.8 GiB).
    expect(vmSizeGrowthBytes).toBeLessThan(16 * lastFileBytes);
  }, 120_000);
});
