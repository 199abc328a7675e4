/**
 * Issue 8 review of the README's "A view of a closed arena is harmless": close()
 * detaches the JavaScript buffers and unmaps, but a standard API that already
 * took the view's pointer to a worker thread keeps reading it. node:zlib's
 * asynchronous functions do, and the process dies of SIGSEGV. The README's
 * "still unsafe" list names only bun:ffi's ptr(view).
 *
 * Broken variant caught ("no-placeholder-at-close": a plain munmap): the child
 * dies of SIGSEGV. Certain, not timed: the worker holds the pointer from the
 * call on, and compressing 64 MiB takes far longer than close().
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runIsolatedChild } from "../../support/isolated-runs.ts";

const directory = mkdtempSync(join(tmpdir(), "mfa-issue8-views-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

for (const how of ["gzip", "brotli"]) {
  test(`issue 8 review: close() while node:zlib's async ${how} reads an arena view on a worker thread: the thread reads zeros, no SIGSEGV`, async () => {
    const result = await runIsolatedChild("async-reader-at-close.ts", [join(directory, `${how}.arena`), how], 60_000);
    expect({ signal: result.signalCode, exitCode: result.exitCode }).toEqual({ signal: null, exitCode: 0 });
  }, 90_000);
}

test("issue 8 review, control: close() that unmaps under the gzip worker (broken variant) dies of SIGSEGV, and the check catches it", async () => {
  const result = await runIsolatedChild("async-reader-at-close.ts", [join(directory, "broken.arena"), "gzip"], 60_000, "no-placeholder-at-close");
  expect(result.signalCode).toBe("SIGSEGV");
}, 90_000);
