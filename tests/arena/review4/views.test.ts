/**
 * Review 4, views: a view's buffer is the whole mapping (mapping.ts: views share
 * a few long-lived buffers), and standard APIs that *copy* a view (not transfer
 * it) copy its whole buffer, not the view's bytes: structuredClone(view) and
 * postMessage(view) serialize view.buffer entire (the HTML structured-clone
 * algorithm), and view.buffer is reachable by anyone holding a view.
 *
 * A read-only arena maps its capacity but the file is only as long as its bump
 * pointer (the last close shrank it): every page of that buffer past the file's
 * end is SIGBUS. So a plain structuredClone of a 5-byte view kills the process.
 * docs/guarantees.md: "Never a hang, never a crash"; docs/read-only.md: views
 * are "ordinary Uint8Arrays". A writer does not crash (its file is as long as its
 * capacity while open) but the clone of 5 bytes copies the whole capacity.
 *
 * Each case runs in a child (children/view-copy-child.ts) so that a SIGBUS kills
 * the child, not the runner.
 */
import { expect, test } from "bun:test";
import type { ChildResult } from "../../support/processes.ts";
import { freshPath, tempDirectory } from "../../support/temp.ts";
import { lastJson, runReviewChild } from "./run-child.ts";

const directory = tempDirectory("mfa-review4-views-");

function runCase(how: string): Promise<ChildResult> {
  return runReviewChild("view-copy-child.ts", [freshPath(directory), how]);
}

/** Exit 0, no signal, and the copy holds the view's bytes. */
function expectSurvived(result: ChildResult): void {
  const crashed = /Bus error|Segmentation fault/.exec(result.stderr)?.[0] ?? null;
  expect({ exitCode: result.exitCode, signal: result.signalCode, crashed }).toEqual({ exitCode: 0, signal: null, crashed: null });
  expect(lastJson(result).copied).toBe("hello");
}

// Expected: structuredClone(view) copies "hello". Observed: the child dies of
// SIGBUS ("panic(main thread): Bus error"): the clone reads the 64 MiB buffer
// under the view, past the 40-byte file.
test("structuredClone of a read-only arena's view dies of SIGBUS (the clone copies the capacity-sized buffer past the file's end)", async () => {
  expectSurvived(await runCase("structured-clone"));
});

// Expected: the Worker receives "hello". Observed: SIGBUS while serializing.
test("postMessage of a read-only arena's view to a Worker dies of SIGBUS", async () => {
  expectSurvived(await runCase("post-message"));
});

// Expected: view.buffer is safe to read (or bounded by readableBytes).
// Observed: SIGBUS at the first page past the file's end.
test("reading a read-only arena view's own buffer (new Uint8Array(view.buffer)) dies of SIGBUS", async () => {
  expectSurvived(await runCase("whole-buffer"));
});

// Expected: the clone of a 5-byte view is about 5 bytes. Observed: 64 MiB (the
// whole capacity: 1 GiB for a 1 GiB arena, measured 6 s and 3 GiB of RSS).
test("structuredClone of a writer's 5-byte view copies the arena's whole capacity", async () => {
  const result = await runCase("writer-structured-clone");
  expectSurvived(result);
  const report = lastJson<{ copyBufferBytes: number }>(result);
  expect(report.copyBufferBytes).toBeLessThan(1024 * 1024);
});
