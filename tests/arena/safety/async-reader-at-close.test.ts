/**
 * Issue 8 review of the README's "A view of a closed arena is harmless": close()
 * detaches the JavaScript buffers and unmaps, but a standard API that already
 * took the view's pointer to a worker thread keeps reading it. node:zlib's
 * asynchronous functions do, and the process dies of SIGSEGV. The README's
 * "still unsafe" list names only bun:ffi's ptr(view).
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
