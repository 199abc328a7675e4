/**
 * Issue 8 review, item 1 ("allocateOffset never returns an offset outside
 * [headerOffset + 32, capacity) and never wraps"): the check at open bounds the
 * word at 2^62, but nothing bounds what another process stores in the shared
 * header while we have it open. The 64-bit add then wraps and the next
 * allocations are handed out inside the header.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "bun:test";
import { lastJson, runIsolatedChild } from "../../support/isolated-runs.ts";

const directory = mkdtempSync(join(tmpdir(), "mfa-issue8-bump-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

test("issue 8 review: a bumpPtr near 2^64 stored by another process while open: the add that wraps makes the arena full, never an offset inside the header", async () => {
  const result = await runIsolatedChild("wrapped-bump.ts", [join(directory, "wrapped.arena")]);
  expect(result.signalCode).toBeNull();
  const report = lastJson(result.stdout);
  for (const entry of report.results) {
    if (typeof entry === "number") {
      expect(entry).toBeGreaterThanOrEqual(report.firstAllowed);
      expect(entry).toBeLessThan(report.capacity);
    } else {
      expect(entry).toBe("ERR_ARENA_FULL");
    }
  }
  expect(report.size).toBeGreaterThanOrEqual(report.firstAllowed);
});
