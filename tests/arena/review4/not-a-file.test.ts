/**
 * Review 4, paths that are not regular files.
 *
 * docs/arena.md, ERR_ARENA_NOT_A_FILE: "the path is not a regular file; or
 * PATH.shared is not a lock file of its own (a FIFO, a device, a link to PATH)".
 * A FIFO, a device and a directory at PATH, and a FIFO or a device at
 * PATH.shared, are that code. Two kinds are not:
 *  - a directory at PATH.shared: create() throws EISDIR, from
 *    protocol.ts openExistingFile (open O_RDWR of a directory fails before
 *    checkLockFile can judge its kind; openMainFile translates EISDIR for PATH,
 *    nothing does for PATH.shared). openReadOnly says ERR_ARENA_NOT_A_FILE.
 *  - a Unix socket at PATH or PATH.shared: ENXIO from open(2), both for create
 *    and openReadOnly.
 * Nothing crashes or hangs; the code a caller switches on differs by kind.
 */
import { expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { tempDirectory } from "../../support/temp.ts";

const directory = tempDirectory("mfa-review4-not-a-file-");

function codeOf(open: () => MappedFileRegionArena): string {
  try {
    open().close();
    return "opened";
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

// Expected: ERR_ARENA_NOT_A_FILE. Observed: EISDIR.
test("a directory at PATH.shared is ERR_ARENA_NOT_A_FILE from create(), not EISDIR (review 4 #11)", () => {
  const path = join(directory, "with-directory-lock.arena");
  mkdirSync(`${path}.shared`);
  expect(codeOf(() => MappedFileRegionArena.create(path, { capacity: 1 << 20 }))).toBe("ERR_ARENA_NOT_A_FILE");
});

// Expected: ERR_ARENA_NOT_A_FILE for both. Observed: ENXIO for both.
test("a Unix socket at PATH is ERR_ARENA_NOT_A_FILE, not ENXIO (review 4 #11)", async () => {
  const path = join(directory, "socket.arena");
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  try {
    const codes = {
      create: codeOf(() => MappedFileRegionArena.create(path, { capacity: 1 << 20 })),
      openReadOnly: codeOf(() => MappedFileRegionArena.openReadOnly(path)),
    };
    expect(codes).toEqual({ create: "ERR_ARENA_NOT_A_FILE", openReadOnly: "ERR_ARENA_NOT_A_FILE" });
  } finally {
    server.close();
  }
});
