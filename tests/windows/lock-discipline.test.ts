/**
 * The open and close protocol does no file I/O that Windows' mandatory locks would
 * refuse. Wine does not enforce them (docs/platforms.md), so this runs the protocol,
 * on any platform, with Windows' rules emulated over the native layer
 * (lock-emulator.ts), in a child process so that the emulation touches nothing else.
 * It runs in `npm test` (on Linux), not under Wine: Bun for Windows under Wine did
 * not call the runtime plugin that puts the emulation in place.
 *
 * Broken variant caught: a header written under the shared lock (the upgrade to
 * exclusive skipped), which Windows refuses with ERROR_LOCK_VIOLATION.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("mfa-lock-discipline-");
const children = join(import.meta.dir, "children");

function emulatedRun(mode: string): { violations: string[]; checked: { read: number; write: number; resize: number } } {
  const child = Bun.spawnSync(
    [process.execPath, "--preload", join(children, "emulate-windows-locks.ts"), join(children, "lock-discipline-child.ts"), directory, mode],
    { stdout: "pipe", stderr: "pipe" },
  );
  if (!child.success) throw new Error(`child failed: ${child.stderr.toString()}`);
  return JSON.parse(child.stdout.toString());
}

test("every path of the open and close protocol reads and writes only as Windows' locks allow", () => {
  const { violations, checked } = emulatedRun("protocol");
  expect(violations).toEqual([]);
  // The protocol's calls did go through the emulation: headers read and written, files resized.
  expect(checked.read).toBeGreaterThanOrEqual(5);
  expect(checked.write).toBeGreaterThanOrEqual(3);
  expect(checked.resize).toBeGreaterThanOrEqual(5);
});

test("the emulation catches the broken variant: a header written under the shared lock", () => {
  expect(emulatedRun("broken").violations).toEqual([expect.stringContaining("through a handle that holds a shared lock")]);
});
