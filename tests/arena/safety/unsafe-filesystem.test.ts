/**
 * Issue 8 item 9b: create() itself refuses a network or FUSE file system, not
 * only the classifier (filesystem.test.ts). No such mount can be made here, so
 * the file-system probe's answer is replaced with bun test's mock.module: the
 * real classifier, except that it says "nfs" while `pretend` is set.
 *
 * Broken variant caught (mutation check, by hand): inverting the refusal in
 * protocol.ts (`unsafe === undefined`) fails both tests below.
 */
import { afterAll, expect, mock, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import * as filesystem from "../../../lib/arena/filesystem.ts";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { expectArenaError } from "../../support/expect.ts";
import { freshPath, tempDirectory } from "../../support/temp.ts";

const realClassifier = filesystem.unsafeFileSystemName;
let pretend: string | undefined;
mock.module("../../../lib/arena/filesystem.ts", () => ({
  unsafeFileSystemName: (id: Parameters<typeof realClassifier>[0]) => pretend ?? realClassifier(id),
}));
afterAll(() => {
  pretend = undefined; // other test files in this process get the real answer
});

const directory = tempDirectory("mfa-unsafe-fs-");

test("create() on a file system that says nfs is ERR_ARENA_UNSUPPORTED_FS and touches nothing; the opt-in opens it", () => {
  const path = freshPath(directory);
  MappedFileRegionArena.create(path, { capacity: 1 << 20 }).close(); // a real arena, made while the probe is honest
  const before = readFileSync(path);
  pretend = "nfs";
  try {
    const error = expectArenaError(() => MappedFileRegionArena.create(path, { capacity: 1 << 20 }), "ERR_ARENA_UNSUPPORTED_FS");
    expect(error.message).toContain("nfs");
    expect(readFileSync(path)).toEqual(before);
    using arena = MappedFileRegionArena.create(path, { capacity: 1 << 20, allowUnsafeFileSystem: true });
    expect(arena.size).toBe(32);
  } finally {
    pretend = undefined;
  }
});

test("a new path on such a file system gets no arena and no .shared companion", () => {
  const path = freshPath(directory);
  pretend = "fuse";
  try {
    expectArenaError(() => MappedFileRegionArena.create(path, { capacity: 1 << 20 }), "ERR_ARENA_UNSUPPORTED_FS");
  } finally {
    pretend = undefined;
  }
  // The main file is opened (created) before the file system can be asked; it is
  // left empty (see protocol.ts), and nothing else is made.
  expect(statSync(path).size).toBe(0);
  expect(existsSync(`${path}.shared`)).toBe(false);
});
