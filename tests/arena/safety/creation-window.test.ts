/**
 * Issue 8 review of "a creator killed anywhere before it finished leaves a header marked
 * creation in progress, and the next create creates it afresh" (README): the
 * creator stores the real allocatedSize (replacing the marker) before it stores
 * the capacity (lib/arena/protocol.ts, end of a creation). Killed between the two,
 * it leaves capacity 0 without the marker, which every later open refuses.
 *
 * Broken variant caught ("allocated-size-before-capacity", the old order): killed
 * before the second store, the next open is refused.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastJson, runIsolatedChild } from "../../support/isolated-runs.ts";
import type { BrokenArenaVariant } from "../../../lib/arena/broken-variants.ts";

const directory = mkdtempSync(join(tmpdir(), "mfa-issue8-creation-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** Kills a creator before its nth header store after onCreate, then opens the file: the error code, if any. */
async function killThenOpen(path: string, nth: number, brokenVariant?: BrokenArenaVariant): Promise<string | undefined> {
  const killed = await runIsolatedChild("killed-finishing-creation.ts", ["kill", path, nth], undefined, brokenVariant);
  expect(killed.signalCode).toBe("SIGKILL");
  const opened = await runIsolatedChild("killed-finishing-creation.ts", ["open", path]);
  expect(opened.signalCode).toBeNull();
  return lastJson(opened.stdout).error;
}

for (const nth of [1, 2]) {
  test(`issue 8 review: a creator killed before header store ${nth} of 2 after onCreate: the next create opens or redoes it`, async () => {
    expect(await killThenOpen(join(directory, `killed-${nth}.arena`), nth)).toBeUndefined();
  }, 60_000);
}

test("issue 8 review, control: with allocatedSize stored before the capacity (broken variant), the reopen is refused and the check catches it", async () => {
  expect(await killThenOpen(join(directory, "broken-order.arena"), 2, "allocated-size-before-capacity")).toBe("ERR_ARENA_CORRUPT");
}, 60_000);
