/**
 * Temporary files (a large object written before its rename, a download
 * spilled to disk) that gc can tell from abandoned ones.
 *
 * The effect we want: gc removes what a dead writer left, and never a file a
 * live writer is still writing. Why the obvious way fails: a pid in the name,
 * checked with kill(pid, 0), is only meaningful inside one pid namespace; a
 * process in another container sharing the store's volume sees every pid of
 * ours as dead and deletes our download mid-write. And a per-object counter
 * in the name collides between two stores (or two Workers) of one process.
 * The way chosen: the writer holds an exclusive flock on the file from the
 * moment it makes it until it has renamed (or mapped) it, as a generation's
 * lock file says it is in use; gc removes only a file it can lock without
 * waiting, and removes it while holding that lock. flock works across pid
 * namespaces (the store's own locks rely on it). A writer that made its file
 * and lost it to gc before it could lock it sees that (the name no longer
 * names its file) and takes another name; a name that exists is skipped (O_EXCL).
 * The pid stays in the name for a reader of the folder, and a counter, one per
 * thread, starts at a random value so two Workers rarely even try the same name.
 * What it gives up: a temporary file of an older version of this library, which
 * did not lock it, is removed by a gc that runs while that version writes it.
 */
import { closeSync, fstatSync, openSync, rmSync, statSync } from "node:fs";
import { openRegularFile } from "../arena/regular-file.ts";
import { ArenaError } from "../common/errors.ts";
import { tryLockFile } from "../native/native.ts";
import { storeTestHooks } from "./testing.ts";

export const temporarySuffix = ".tmp";

/** Names a writer tries before it gives up: each one taken, or lost to a gc, moves it on. */
const maxNameAttempts = 1000;

let counter = Math.floor(Math.random() * 2 ** 32);

/** The name of a temporary file: `<prefix>.<pid>.<n>.tmp`. gc matches it. */
export const temporaryName = /\.\d+\.\d+\.tmp$/;

export interface TemporaryFile {
  /** Open for writing, with an exclusive flock held: close it only once the file is renamed or mapped. */
  fd: number;
  path: string;
}

/** Makes a new file `<prefix>.<pid>.<n>.tmp` (mode `mode`), locked against gc. */
export function createTemporaryFile(prefix: string, mode: number): TemporaryFile {
  // Bounded: each pass takes a new name.
  for (let attempt = 0; attempt < maxNameAttempts; attempt++) {
    counter = storeTestHooks.temporaryNamesCollide ? 1 : (counter + 1) % 2 ** 32;
    const path = `${prefix}.${process.pid}.${counter}${temporarySuffix}`;
    let fd: number;
    try {
      fd = openSync(path, "wx", mode);
    } catch (error) {
      // Another store or Worker of this process. (The broken variant gives up, as a counter per store did.)
      if ((error as NodeJS.ErrnoException).code === "EEXIST" && !storeTestHooks.temporaryNamesCollide) continue;
      throw error;
    }
    // A gc may have locked and removed it between the open and the lock: then it is not ours any more.
    if (tryLockFile(fd, "exclusive", path) && sameFile(fd, path)) return { fd, path };
    closeSync(fd);
  }
  throw new ArenaError("EEXIST", `no free temporary name for ${prefix} after ${maxNameAttempts} tries`, { path: prefix });
}

/**
 * Removes the temporary file at `path` if no writer holds it (its writer died,
 * in any pid namespace); returns whether it did. Never waits.
 */
export function removeIfAbandoned(path: string): boolean {
  let fd: number;
  try {
    fd = openRegularFile(path, "read");
  } catch {
    return false; // renamed or removed meanwhile, or not a file of ours
  }
  try {
    if (!tryLockFile(fd, "exclusive", path) || !sameFile(fd, path)) return false;
    rmSync(path, { force: true }); // while holding the lock: no writer can be using it
    return true;
  } finally {
    closeSync(fd);
  }
}

/** Whether `path` (still) names the file open as `fd`. */
export function sameFile(fd: number, path: string): boolean {
  try {
    const named = statSync(path);
    const open = fstatSync(fd);
    return named.ino === open.ino && named.dev === open.dev;
  } catch {
    return false;
  }
}
