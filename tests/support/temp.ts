// Temporary folders for tests.
import { afterAll } from "bun:test";
import { mkdtempSync, readdirSync, rmdirSync, rmSync, statSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A new empty folder in `parent`, removed when the test file is done. Call it at
 * the top level of a test file (it registers an afterAll). Pass `parent` when a
 * test needs a particular file system.
 */
export function tempDirectory(prefix = "arena-test-", parent: string = tmpdir()): string {
  const directory = createTempDirectory(prefix, parent);
  afterAll(() => removeDirectory(directory));
  return directory;
}

/**
 * A new empty folder in `parent` that the caller removes with removeDirectory:
 * for scripts outside `bun test`, and for folders that must outlive something
 * the caller undoes first (a mount).
 */
export function createTempDirectory(prefix = "arena-test-", parent: string = tmpdir()): string {
  return mkdtempSync(join(parent, prefix));
}

export function removeDirectory(directory: string): void {
  try {
    rmSync(directory, { recursive: true, force: true });
  } catch (error) {
    // Bun for Windows under Wine 8 fails a recursive rmSync with EFAULT (a Wine gap,
    // see docs/platforms.md); removing entry by entry works there.
    if (process.platform !== "win32") throw error;
    removeEntryByEntry(directory);
  }
}

function removeEntryByEntry(path: string): void {
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path)) removeEntryByEntry(join(path, name));
    rmdirSync(path);
  } else {
    unlinkSync(path);
  }
}

let counter = 0;
/** A fresh arena path in `directory` (neither it nor its .shared exists yet). */
export function freshPath(directory: string, name = "arena"): string {
  counter += 1;
  return join(directory, `${name}-${counter}.bin`);
}
