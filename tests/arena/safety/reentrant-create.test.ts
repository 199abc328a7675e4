/**
 * Issue 8 review of onCreate's edges: "close inside onCreate" is refused with
 * ERR_ARENA_CREATING, but opening the same file again inside onCreate (same
 * thread) blocks forever: the inner open waits for the main file's flock, which
 * the outer create holds exclusively on another descriptor of this very process.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastJson, runIsolatedChild } from "../../support/isolated-runs.ts";

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
    expect(result.stdout).toContain('"inOnCreate":true');
    expect(result.timedOut).toBe(false);
    expect(result.signalCode).toBeNull();
    const report = lastJson(result.stdout);
    expect(report.outcome).toBe("threw");
    expect(report.name).toBe("ArenaError");
    expect(report.code).toBe("ERR_ARENA_CREATING");
  }, 30_000);
}
