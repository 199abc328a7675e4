/**
 * Opening a path that must be a regular file (a lock file, or a file to peek at)
 * must never block. open(2) of a FIFO with no writer blocks until one comes (for
 * O_RDONLY; O_RDWR does not block, but a later read does), and a read of a
 * terminal blocks until input: so open with O_NONBLOCK, and use the descriptor
 * only once fstat says it is a regular file. Anything else is refused with
 * ERR_ARENA_NOT_A_FILE, as the arena refuses it.
 */
import { closeSync, constants, fstatSync, openSync } from "node:fs";
import { ArenaError } from "../common/errors.ts";

/**
 * "read": O_RDONLY, the file must exist. "lock": as fopen's "a+" (read-write,
 * created if missing, appends), for a lock file a writer may have to make.
 */
export type RegularFileAccess = "read" | "lock";

/**
 * A descriptor of `path` (the caller closes it), if it is a regular file; else
 * ArenaError ERR_ARENA_NOT_A_FILE. A failed open throws node:fs's error, whose
 * `code` is the errno name (ENOENT, EACCES, ...).
 */
export function openRegularFile(path: string, access: RegularFileAccess): number {
  const flags =
    access === "read"
      ? constants.O_RDONLY | constants.O_NONBLOCK
      : constants.O_RDWR | constants.O_CREAT | constants.O_APPEND | constants.O_NONBLOCK;
  const fd = openSync(path, flags, 0o666);
  let isFile: boolean;
  try {
    isFile = fstatSync(fd).isFile();
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  if (isFile) return fd;
  closeSync(fd);
  throw new ArenaError("ERR_ARENA_NOT_A_FILE", `${path} is not a regular file: it cannot be opened without waiting, nor used as one`, { path });
}

/**
 * A read-only descriptor of `path` if it is a regular file (the caller closes it),
 * or undefined: not a regular file, or it cannot be opened. Anything else is left
 * to the arena, which refuses it with ERR_ARENA_NOT_A_FILE.
 */
export function openRegularFileToRead(path: string): number | undefined {
  try {
    return openRegularFile(path, "read");
  } catch {
    return undefined;
  }
}
