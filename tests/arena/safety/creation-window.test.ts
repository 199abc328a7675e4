/**
 * Issue 8 review of "a creator killed anywhere before it finished leaves a header marked
 * creation in progress, and the next create creates it afresh" (README): the
 * creator stores the real allocatedSize (replacing the marker) before it stores
 * the capacity (lib/arena/protocol.ts, end of a creation). Killed between the two,
 * it leaves capacity 0 without the marker, which every later open refuses.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastJson, runIsolatedChild } from "../../support/isolated-runs.ts";

const directory = mkdtempSync(join(tmpdir(), "mfa-issue8-creation-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

for (const nth of [1, 2]) {
  test(`issue 8 review: a creator killed before header store ${nth} of 2 after onCreate: the next create opens or redoes it`, async () => {
    const path = join(directory, `killed-${nth}.arena`);
    const killed = await runIsolatedChild("killed-finishing-creation.ts", ["kill", path, nth]);
    expect(killed.signalCode).toBe("SIGKILL");
    const opened = await runIsolatedChild("killed-finishing-creation.ts", ["open", path]);
    expect(opened.signalCode).toBeNull();
    expect(lastJson(opened.stdout).error).toBeUndefined();
  }, 60_000);
}
