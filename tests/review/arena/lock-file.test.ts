/**
 * Review of the lock protocol (lib/arena/locks.ts, protocol.ts): PATH.shared is
 * opened by name and flocked on its own descriptor; flock locks of one inode
 * conflict between descriptors of the same process. When PATH.shared is (a link
 * to) the arena file itself, or is itself an arena this process has open, the
 * opener blocks on its own lock forever instead of refusing with an ArenaError.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastJson, runReviewChild } from "./support.ts";

const directory = mkdtempSync(join(tmpdir(), "mfa-review-lockfile-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const cases = {
  symlink: "PATH.shared is a symlink to PATH: reopening a closed arena deadlocks on its own flock",
  nested: "an arena created at PATH.shared while PATH is open in the same process deadlocks on its own flock",
} as const;

for (const [mode, name] of Object.entries(cases)) {
  test(name, async () => {
    const result = await runReviewChild("shared-is-the-arena.ts", [mode, join(directory, `${mode}.arena`)], 8_000);
    expect(result.timedOut).toBe(false);
    expect(result.signalCode).toBeNull();
    // Either works, or is refused with an ArenaError: never a hang.
    const report = lastJson(result.stdout);
    if (report.outcome === "threw") expect(report.name).toBe("ArenaError");
    else expect(report.outcome).toBe("opened");
  }, 30_000);
}
