/**
 * Issue 8 review, item 1 ("allocateOffset never returns an offset outside
 * [headerOffset + 32, capacity) and never wraps"): the check at open bounds the
 * word at 2^62, but nothing bounds what another process stores in the shared
 * header while we have it open. The 64-bit add then wraps and the next
 * allocations are handed out inside the header.
 *
 * Broken variant caught ("no-wrap-check"): an offset inside the header is handed out.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "bun:test";
import { lastJson, runIsolatedChild, type Outcome } from "../../support/isolated-runs.ts";

const directory = mkdtempSync(join(tmpdir(), "mfa-issue8-bump-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** The test's check on the child's report: every allocation inside the arena, or ERR_ARENA_FULL. */
function expectNothingOutside(result: Outcome): void {
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
}

test("issue 8 review: a bumpPtr near 2^64 stored by another process while open: the add that wraps makes the arena full, never an offset inside the header", async () => {
  expectNothingOutside(await runIsolatedChild("wrapped-bump.ts", [join(directory, "wrapped.arena")]));
});

test("issue 8 review, control: without the wrap check (broken variant) an offset inside the header is handed out, and the check catches it", async () => {
  const result = await runIsolatedChild("wrapped-bump.ts", [join(directory, "broken-wrapped.arena")], undefined, "no-wrap-check");
  const report = lastJson(result.stdout);
  expect(report.results.some((entry: unknown) => typeof entry === "number" && entry < report.firstAllowed)).toBe(true);
  expect(() => expectNothingOutside(result)).toThrow();
});
