/**
 * Issue 8 review of closeArena (lib/arena/protocol.ts): a closer that is not the last
 * drops its in-use locks (InUseLocks.tryAlone releases them first) and only then
 * unmaps, which is where windows taken by a transfer are replaced with zero
 * pages. In between, another process can be the last closer and shrink the file;
 * a reader of the taken buffer (a Worker, a stream consumer) then dies of SIGBUS.
 * The race is made certain by a hook on the victim's first detach.
 *
 * Broken variant caught ("in-use-locks-dropped-before-unmap"): the victim dies of
 * SIGBUS reading the taken buffer.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isolatedChildren, spawnBun } from "../../support/isolated-runs.ts";
import type { BrokenArenaVariant } from "../../../lib/arena/broken-variants.ts";

const directory = mkdtempSync(join(tmpdir(), "mfa-issue8-close-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** The victim closes while the holder's close is made the last one inside it; the victim's stdout and signal. */
async function closeUnderTakenBuffer(name: string, brokenVariant?: BrokenArenaVariant) {
  const path = join(directory, name);
  const script = join(isolatedChildren, "close-window.ts");
  const victim = spawnBun(script, ["victim", path], brokenVariant);
  // The victim creates the file; the holder opens it after.
  while (!existsSync(`${path}.victim-open`) && victim.exitCode === null) await Bun.sleep(5);
  const holder = spawnBun(script, ["holder", path]);
  const reader = holder.stdout.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toContain("open");
  writeFileSync(`${path}.holder-open`, "");
  const [victimOut] = await Promise.all([new Response(victim.stdout).text(), victim.exited, holder.exited]);
  expect(victimOut).toContain('"holderClosed":true');
  return { victimOut, signal: victim.signalCode };
}

test("issue 8 review: a closer replaces its mapping with zero pages before it drops its in-use locks, so another process's last close cannot shrink the file under a taken buffer (no SIGBUS)", async () => {
  const { victimOut, signal } = await closeUnderTakenBuffer("window.arena");
  expect(signal).toBeNull();
  expect(victimOut).toContain('"survived":true');
}, 60_000);

test("issue 8 review, control: a closer that drops its locks before the zero pages (broken variant) dies of SIGBUS, and the check catches it", async () => {
  const { victimOut, signal } = await closeUnderTakenBuffer("broken-window.arena", "in-use-locks-dropped-before-unmap");
  expect(signal).toBe("SIGBUS");
  expect(victimOut).not.toContain('"survived":true');
}, 60_000);
