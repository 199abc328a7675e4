/**
 * Objects whose record is 64 KiB or more (16 bytes of header, 32 a ref, then the
 * data: a leaf of 65,520 bytes and up) live in files of their own, as in LLVM: a pool is a
 * poor place for them (a 1 GiB object would need a 1 GiB contiguous allocation
 * and would bloat every copy forward). A file is written under a temporary name
 * and renamed into place, so its final name only ever names complete bytes; the
 * index entry is published after the rename. A crash leaves at most a temporary
 * file, which nothing points to and `gc` removes (once no writer holds its lock).
 *
 * Files are named by the object's id (LLVM names them by index offset), so a
 * generation's files can be listed and checked against its index.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { openRegularFile } from "../arena/regular-file.ts";
import { dirname, join } from "node:path";
import { ArenaError } from "../common/errors.ts";
import { toArenaError, wrapFsErrors } from "./fs-errors.ts";
import { StorageKind } from "./object-record.ts";
import { createTemporaryFile } from "./temporary-files.ts";
import { storeTestHooks } from "./testing.ts";

export function largeObjectPath(directory: string, kind: StorageKind, idHex: string): string {
  return join(directory, `${kind === StorageKind.leafFile ? "leaf" : "obj"}.${idHex}`);
}

/**
 * Writes `parts` one after the other into `finalPath`, complete or not at all.
 * Returns the file's length. The temporary file is locked against gc from its
 * making to its rename (temporary-files.ts).
 *
 * `durable`: the bytes are flushed to the disk (fsync) before the rename, and
 * the directory after it, so a power loss leaves the old state or the whole
 * file, never the name over missing bytes (a rename is metadata: without the
 * fsync, xfs or ext4 without auto_da_alloc can keep the name of an empty file).
 * For the marker; a large object is not worth an fsync each (its generation is
 * a cache, and validate finds a short file).
 */
export function writeWholeFile(finalPath: string, parts: Uint8Array[], durable = false): number {
  const { fd, path: temporary } = wrapFsErrors(finalPath, () => createTemporaryFile(finalPath, 0o644));
  let length = 0;
  try {
    for (const part of parts) {
      writeAll(fd, part, temporary);
      length += part.length;
    }
    storeTestHooks.at?.("file-written");
    if (durable) fsyncSync(fd);
    renameSync(temporary, finalPath); // before the close, which drops the lock that keeps gc away
    if (durable) syncDirectory(dirname(finalPath));
    return length;
  } catch (error) {
    rmSync(temporary, { force: true });
    throw toArenaError(error, temporary);
  } finally {
    closeSync(fd);
  }
}

/**
 * fsync of a directory, so a rename in it survives a power loss. Where the
 * platform cannot (a directory opened for reading refuses fsync: EINVAL, EBADF,
 * EISDIR, EPERM on some systems) the rename stands as the file system keeps it.
 */
function syncDirectory(directory: string): void {
  let fd: number;
  try {
    fd = openSync(directory, "r");
  } catch {
    return; // the rename happened; only its durability is not ours to ensure here
  }
  try {
    fsyncSync(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "EBADF" && code !== "EISDIR" && code !== "EPERM" && code !== "ENOTSUP") throw error;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes all of `bytes` at `fd`'s position, at most storeTestHooks.writeChunkBytes
 * (1 GiB) per call: fs.writeSync refuses a length past 2^31 - 1, and Linux's
 * write(2) moves at most 2^31 - 4096 bytes a call, so an object of 2 GiB or more
 * is written in pieces. writeSync may also write less than asked (a signal, a
 * full disk): each pass moves the position on, so the loop ends after at most
 * one pass per byte, and a pass that writes nothing is an error.
 */
function writeAll(fd: number, bytes: Uint8Array, path: string): void {
  const chunk = storeTestHooks.writeChunkBytes;
  for (let written = 0; written < bytes.length; ) {
    const count = writeSync(fd, bytes, written, Math.min(chunk, bytes.length - written));
    if (count <= 0) throw new ArenaError("EIO", `short write to ${path}`, { path });
    written += count;
  }
}

/**
 * The file's bytes if it is exactly `length` bytes long; else its length (a
 * number) if it has another, or null if it does not exist. The length is
 * checked (one fstat of the open file) before anything is read, and no more than
 * `length` bytes are ever read: a file longer than its index says (damage, or a
 * hostile sparse file of any size) costs an fstat, not its size in memory. Never
 * waits on a FIFO put there (regular-file.ts): a store's reader may be another
 * user than its owner.
 */
export function readFileOfLength(path: string, length: number): Uint8Array | number | null {
  let fd: number;
  try {
    fd = openRegularFile(path, "read");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw toArenaError(error, path);
  }
  try {
    const actual = fstatSync(fd).size;
    if (actual !== length) return actual;
    const bytes = Buffer.allocUnsafe(length);
    // A read may return less than asked (reads stop near 2 GiB): each pass moves
    // on or stops, so at most `length` passes.
    for (let done = 0; done < length; ) {
      const count = readSync(fd, bytes, done, length - done, done);
      if (count <= 0) return done; // shortened since the fstat
      done += count;
    }
    return bytes;
  } catch (error) {
    throw toArenaError(error, path);
  } finally {
    closeSync(fd);
  }
}

/** The file's length, or null if it does not exist. */
export function fileLength(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}
