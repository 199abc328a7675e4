/**
 * Issue 8 review of onCreate's edges: "close inside onCreate" is refused with
 * ERR_ARENA_CREATING, but opening the same file again inside onCreate (same
 * thread) blocks forever: the inner open waits for the main file's flock, which
 * the outer create holds exclusively on another descriptor of this very process.
 *
 * Broken variant caught ("no-own-lock-checks"): the inner create waits forever
 * (the child is killed at the timeout after it reached onCreate).
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastJson, runIsolatedChild, type Outcome } from "../../support/isolated-runs.ts";

const directory = mkdtempSync(join(tmpdir(), "mfa-issue8-oncreate-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

for (const name of ["same path", "a symlink"] as const) {
  test(`issue 8 review: create() of the file being created, inside its own onCreate (${name}), throws ERR_ARENA_CREATING instead of deadlocking`, async () => {
    const path = join(directory, `${name === "same path" ? "same" : "link"}.arena`);
    let inner = path;
    if (name === "a symlink") {
      inner = `${path}.link`;
      symlinkSync(path, inner);
    }
    const result = await runIsolatedChild("reentrant-create.ts", [path, inner], 8_000);
    expectRefusedNotHung(result);
  }, 30_000);
}

/** The test's check: the child got into onCreate, and the inner create threw ERR_ARENA_CREATING there. */
function expectRefusedNotHung(result: Outcome): void {
    expect(result.stdout).toContain('"inOnCreate":true');
    expect(result.timedOut).toBe(false);
    expect(result.signalCode).toBeNull();
    const report = lastJson(result.stdout);
    expect(report.outcome).toBe("threw");
    expect(report.name).toBe("ArenaError");
    expect(report.code).toBe("ERR_ARENA_CREATING");
}

test("issue 8 review, control: without the own-lock checks (broken variant) the inner create waits for itself forever, and the check catches it", async () => {
  const path = join(directory, "broken.arena");
  // A deadlock does not end: the timeout only bounds how long we watch it.
  const result = await runIsolatedChild("reentrant-create.ts", [path, path], 4_000, "no-own-lock-checks");
  expect(result.stdout).toContain('"inOnCreate":true');
  expect(result.timedOut).toBe(true);
  expect(() => expectRefusedNotHung(result)).toThrow();
}, 30_000);
