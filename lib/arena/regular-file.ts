/**
 * Opening a path only to peek at its first bytes (is it a log? a trie database?)
 * must never block. open(2) of a FIFO with no writer blocks until one comes, and a
 * read of a terminal blocks until input: so open with O_NONBLOCK, and read only
 * once fstat says the descriptor is a regular file. Anything else is left to the
 * arena, which refuses it with ERR_ARENA_NOT_A_FILE.
 */
import { closeSync, constants, fstatSync, openSync } from "node:fs";

/**
 * A read-only descriptor of `path` if it is a regular file (the caller closes it),
 * or undefined: not a regular file, or it cannot be opened.
 */
export function openRegularFileToRead(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    if (fstatSync(fd).isFile()) return fd;
  } catch {
    // Unstattable: not ours to judge.
  }
  closeSync(fd);
  return undefined;
}
