/**
 * The Windows half of the cross-platform file test (see cross-platform.ts):
 * scripts/test-windows.ts made linux-made.arena with the Linux build of Bun and
 * names its folder in MFA_CROSS_PLATFORM_DIR; it checks what this leaves after.
 *
 * Broken variants caught: any difference in the header's layout or word order (the
 * Linux file would be refused or read at the wrong offsets); a capacity or size
 * taken from the request rather than the file.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { appendRecords, crossPlatformDirectoryVariable, openArena, problemsIn } from "./cross-platform.ts";

function sharedDirectory(): string {
  const directory = process.env[crossPlatformDirectoryVariable];
  if (!directory) throw new Error(`${crossPlatformDirectoryVariable} is not set: run this through \`bun run test:windows\``);
  return directory;
}

test("a file made by Linux opens on Windows with its records where Linux put them, and takes more", () => {
  using arena = openArena(join(sharedDirectory(), "linux-made.arena"));
  expect(problemsIn(arena, ["linux"])).toEqual([]);
  appendRecords(arena, "windows");
  expect(problemsIn(arena, ["linux", "windows"])).toEqual([]);
});

test("a file made by Windows, for Linux to check", () => {
  using arena = openArena(join(sharedDirectory(), "windows-made.arena"));
  expect(arena.size).toBe(40); // new
  appendRecords(arena, "windows");
  expect(problemsIn(arena, ["windows"])).toEqual([]);
});
