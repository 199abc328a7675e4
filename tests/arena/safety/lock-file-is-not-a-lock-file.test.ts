/**
 * Issue 8 review of the lock protocol (lib/arena/locks.ts, protocol.ts): PATH.shared is
 * opened by name and flocked on its own descriptor; flock locks of one inode
 * conflict between descriptors of the same process. When PATH.shared is (a link
 * to) the arena file itself, or is itself an arena this process has open, the
 * opener blocks on its own lock forever instead of refusing with an ArenaError.
 *
 * Broken variant caught ("no-own-lock-checks"): a symlink waits for itself
 * forever, and a FIFO is taken as a lock file.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastJson, runIsolatedChild, type Outcome } from "../../support/isolated-runs.ts";

const directory = mkdtempSync(join(tmpdir(), "mfa-issue8-lockfile-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const cases = {
  symlink: "issue 8 review: PATH.shared a symlink to PATH is an ArenaError, not a deadlock on our own flock",
  nested: "issue 8 review: creating an arena at PATH.shared while PATH is open in this process is an ArenaError, not a deadlock",
  fifo: "issue 8 review: PATH.shared a FIFO is an ArenaError, not an open that waits for a writer forever",
} as const;

for (const [mode, name] of Object.entries(cases)) {
  test(name, async () => {
    expectRefused(await runIsolatedChild("shared-is-the-arena.ts", [mode, join(directory, `${mode}.arena`)], 8_000));
  }, 30_000);
}

/** The tests' check: refused with an ArenaError, never a hang. */
function expectRefused(result: Outcome): void {
  expect(result.timedOut).toBe(false);
  expect(result.signalCode).toBeNull();
  const report = lastJson(result.stdout);
  expect(report).toEqual({ outcome: "threw", name: "ArenaError", code: "ERR_ARENA_NOT_A_FILE" });
}

for (const mode of ["symlink", "fifo"] as const) {
  test(`issue 8 review, control: without the lock-file checks (broken variant), PATH.shared ${mode === "symlink" ? "a symlink to PATH waits for itself forever" : "a FIFO is taken as a lock file"}, and the check catches it`, async () => {
    // A deadlock does not end: the timeout only bounds how long we watch it.
    const result = await runIsolatedChild("shared-is-the-arena.ts", [mode, join(directory, `broken-${mode}.arena`)], 4_000, "no-own-lock-checks");
    if (mode === "symlink") expect(result.timedOut).toBe(true);
    else expect(lastJson(result.stdout)).toEqual({ outcome: "opened" });
    expect(() => expectRefused(result)).toThrow();
  }, 30_000);
}
