/**
 * Review 4, capacities that are not a multiple of 8.
 *
 * create() accepts any capacity from headerOffset + 32 up (arena.ts checks
 * only that it is a non-negative safe integer that holds the header), and
 * judgeHeader accepts such a stored capacity. But the last closer of an arena
 * whose bump pointer is past the capacity (a process killed inside an
 * overflowing allocation: docs/guarantees.md, "A process killed inside an
 * overflowing allocation leaves the arena full", which promises "the file stays
 * valid and readable") stores the capacity itself as the bump pointer
 * (protocol.ts settleBumpPointer) and shrinks the file to it. With a capacity of
 * 4100 that is bumpPtr 4100, not a multiple of 8, which judgeHeader refuses:
 * every later open is ERR_ARENA_CORRUPT and the arena's data is unreachable.
 * (The same happens to an LLVM file left longer than its capacity by LLVM's
 * overflow close, protocol-edges.test.ts's case, when the capacity is unaligned.)
 *
 * Runs in children (children/unaligned-capacity-child.ts).
 */
import { expect, test } from "bun:test";
import { freshPath, tempDirectory } from "../../support/temp.ts";
import { lastJson, runReviewChild } from "./run-child.ts";

const directory = tempDirectory("mfa-review4-unaligned-");

function child(mode: string, path: string, capacity: number) {
  return runReviewChild("unaligned-capacity-child.ts", [mode, path, capacity]);
}

// Expected: both opens succeed, the arena is full (size = capacity rounded
// down or the capacity) and "kept" reads back. Observed: the first open works
// (size 4100); its last close writes bumpPtr = 4100; the second open throws
// ERR_ARENA_CORRUPT "bumpPtr 0x1004 is not a multiple of 8".
for (const capacity of [4100, 1024 * 1024 + 4]) {
  test(`an arena of capacity ${capacity} left past its capacity by a killed allocation stays valid and full after its next last close (review 4 #3)`, async () => {
    const path = freshPath(directory);
    const killed = await child("kill", path, capacity);
    expect(killed.signalCode).toBe("SIGKILL");
    const result = await child("reopen", path, capacity);
    expect({ exitCode: result.exitCode, signal: result.signalCode }).toEqual({ exitCode: 0, signal: null });
    const report = lastJson<{ first: { size: number; bytes: string }; second: unknown }>(result);
    expect(report.first.bytes).toBe("kept");
    expect(report.second).toEqual({ size: report.first.size, bytes: "kept" });
  });
}
