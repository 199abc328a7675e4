/**
 * Errors on Windows: a failed Win32 call is an ArenaError whose `code` is the errno
 * name a program switches on everywhere (ENOENT, EACCES, ENOSPC...), whose
 * `syscall` is the Win32 call a Windows user knows (CreateFileW, LockFileEx...),
 * and whose message carries the Windows name and number. Paths are UTF-16.
 *
 * Broken variants these catch: Windows codes passed through as unnamed numbers
 * ("E3"); a directory reported as EACCES (what CreateFileW says) instead of
 * ERR_ARENA_NOT_A_FILE; a device opened as an arena; a path encoded as UTF-8 for a
 * "W" call (the non-ASCII name would come out as another file, or none).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { describeError, errnoName, isWouldBlock } from "../../lib/native/errno.ts";
import { expectArenaError } from "../support/expect.ts";
import { tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("mfa-windows-errors-");
const MiB = 1024 * 1024;

describe("Win32 failures are ArenaErrors", () => {
  test("a missing directory: ENOENT from CreateFileW, ERROR_PATH_NOT_FOUND in the message", () => {
    const path = join(directory, "no", "such", "arena.bin");
    const error = expectArenaError(() => MappedFileRegionArena.create(path, { capacity: MiB }), "ENOENT");
    expect(error.syscall).toBe("CreateFileW");
    expect(error.errno).toBe(3);
    expect(error.path).toBe(path);
    expect(error.message).toContain("ERROR_PATH_NOT_FOUND");
  });

  test("a directory is ERR_ARENA_NOT_A_FILE, and nothing is created beside it", () => {
    const path = join(directory, "a-directory");
    mkdirSync(path);
    expectArenaError(() => MappedFileRegionArena.create(path, { capacity: MiB }), "ERR_ARENA_NOT_A_FILE");
    expect(existsSync(`${path}.shared`)).toBe(false);
  });

  test("a device (NUL) is ERR_ARENA_NOT_A_FILE", () => {
    expectArenaError(() => MappedFileRegionArena.create("NUL", { capacity: MiB }), "ERR_ARENA_NOT_A_FILE");
  });
});

describe("Windows error codes have the names a program switches on", () => {
  test.each([
    [2, "ENOENT", "ERROR_FILE_NOT_FOUND"],
    [3, "ENOENT", "ERROR_PATH_NOT_FOUND"],
    [5, "EACCES", "ERROR_ACCESS_DENIED"],
    [32, "EBUSY", "ERROR_SHARING_VIOLATION"],
    [39, "ENOSPC", "ERROR_HANDLE_DISK_FULL"],
    [112, "ENOSPC", "ERROR_DISK_FULL"],
    [1295, "EDQUOT", "ERROR_DISK_QUOTA_EXCEEDED"],
    [19, "EROFS", "ERROR_WRITE_PROTECT"],
    [1224, "EBUSY", "ERROR_USER_MAPPED_FILE"],
  ])("Windows error %d is %s, and says %s", (code, name, windowsName) => {
    expect<string>(errnoName(code)).toBe(name);
    expect(describeError(code)).toBe(`${name} (${windowsName}, Windows error ${code})`);
  });

  test("LockFileEx's 'must wait' (ERROR_LOCK_VIOLATION) is EAGAIN, as flock's is", () => {
    expect(isWouldBlock(33)).toBe(true);
    expect(isWouldBlock(5)).toBe(false);
  });

  test("an unlisted code is E<number>, not a guess", () => {
    expect(errnoName(99999)).toBe("E99999");
  });
});

test("a path that is not ASCII names the same file in Windows and in Bun", () => {
  const name = "arène-日本-🙂.arena";
  const path = join(directory, name);
  MappedFileRegionArena.create(path, { capacity: MiB }).close();
  expect(readdirSync(directory)).toContain(name);
  expect(readdirSync(directory)).toContain(`${name}.shared`);
});
