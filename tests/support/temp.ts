// Temporary folders for tests, removed when the test file is done.
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function tempDirectory(prefix = "arena-test-"): string {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

let counter = 0;
/** A fresh arena path in `directory` (neither it nor its .shared exists yet). */
export function freshPath(directory: string, name = "arena"): string {
  counter += 1;
  return join(directory, `${name}-${counter}.bin`);
}
