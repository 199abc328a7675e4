/**
 * What is wrong when a store's directory is not one: missing, without a store
 * in it, or a file. The errno alone ("ENOENT on DIR/lock") leaves the reader to
 * work out whether they mistyped the path, pointed a reader at a store no writer
 * has made yet, or passed one of the library's other files; these say which.
 */
import { closeSync, readSync, statSync } from "node:fs";
import { openRegularFileToRead } from "../arena/regular-file.ts";
import { ArenaError, notCreatedYetMessage, type ArenaErrorCode } from "../common/errors.ts";
import { describeFileKind } from "../common/file-kinds.ts";

const creator = "ContentStore.open(directory)";

interface Details {
  path: string;
  syscall: string;
}

/** What is at a store's path: nothing, a directory, or a file (named when it is one of the library's kinds). */
type Found = { kind: "missing" } | { kind: "directory" } | { kind: "file"; libraryKind: string | undefined };

/** A reader's failure (errno name `code`, from node:fs) to open the lock file of the store in `directory`, said as what it means. */
export function noStoreToRead(directory: string, lockPath: string, code: ArenaErrorCode): ArenaError {
  const details = { path: lockPath, syscall: "open" };
  const found = look(directory);
  if (found.kind === "file") return notADirectory(directory, "ENOTDIR", details);
  if (code === "ENOENT" && found.kind === "missing") return new ArenaError(code, notCreatedYetMessage(directory, "content store", creator), details);
  if (code === "ENOENT" && found.kind === "directory") {
    return new ArenaError(code, `${directory} holds no content store (it has no lock file); a writer creates one with ${creator} (openReadOnly never creates one)`, details);
  }
  return new ArenaError(code, `cannot open ${lockPath} to read the store: ${code} (is it a content store?)`, details);
}

/** ENOTDIR for a file where the store's directory should be, naming the file's kind when it is one of the library's. */
export function notADirectory(directory: string, code: ArenaErrorCode, details: Details): ArenaError {
  const found = look(directory);
  const what = found.kind === "file" && found.libraryKind !== undefined ? `${directory} is ${found.libraryKind}` : "a file is there";
  return new ArenaError(code, `${directory} is not a directory: a content store is a directory (of generations), and ${what}`, details);
}

/** Why `directory` cannot hold a store to read (missing, or a file: named as its kind), or undefined when it is a directory. */
export function notAStoreDirectory(directory: string): string | undefined {
  const found = look(directory);
  if (found.kind === "directory") return undefined;
  if (found.kind === "missing") return `${directory}: no such directory`;
  return notADirectory(directory, "ENOTDIR", { path: directory, syscall: "stat" }).message;
}

function look(path: string): Found {
  try {
    if (statSync(path).isDirectory()) return { kind: "directory" };
  } catch {
    return { kind: "missing" };
  }
  return { kind: "file", libraryKind: libraryKindOf(path) };
}

/** describeFileKind of the file's first bytes; undefined when it cannot be read (or is not a regular file: never a wait on a FIFO). */
function libraryKindOf(path: string): string | undefined {
  const fd = openRegularFileToRead(path);
  if (fd === undefined) return undefined;
  try {
    const start = new Uint8Array(64);
    return describeFileKind(start.subarray(0, readSync(fd, start, 0, start.length, 0)));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
