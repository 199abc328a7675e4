/**
 * Looks at an arena file from outside, without opening it as an arena: what
 * `mapped-file-arena inspect` and `verify` print.
 *
 * The effect we want: a person (or a script) can ask "what is in this file, is it
 * healthy, and is anyone using it?" about any path, including a broken file or one
 * that another process has open right now, and the answer changes nothing.
 *
 * So nothing here maps, resizes, creates or writes. The file is opened read-only
 * (which also lets a read-only file be inspected), its header is read with pread
 * and judged by the same judgeHeader the arena uses before it maps anything, and
 * its size and reserved disk come from fstat.
 *
 * "Is it open?" is answered first by testing the lock every opener of ours holds
 * on the file itself under any name (F_OFD_GETLK: takes nothing), then, for
 * LLVM's openers, with a non-blocking exclusive flock on PATH.shared, released at
 * once: every opener holds a shared lock there until it closes. What
 * this gives up: if a process closes the arena during the instant we hold the
 * lock, its own "am I the last?" probe fails, so it skips shrinking the file to
 * its used size. Nothing is lost; the file stays at its (sparse) capacity until
 * the next last close. PATH.shared is never created: if it does not exist, nobody
 * has opened the arena since it was last created by this library or LLVM.
 */
import { statSync } from "node:fs";
import { ArenaError, type ArenaErrorCode, type SystemErrorCode } from "../common/errors.ts";
import {
  decodeHeader,
  findHeader,
  headerSearchLimitBytes,
  headerSizeBytes,
  judgeHeader,
  throwIfHeaderIsElsewhere as throwIfHeaderIsElsewhereIn,
  type HeaderWords,
} from "../arena/header.ts";
import { closeFile, openFile, readAt, statFile, testRange, tryLockFile, unlockFile } from "../native/native.ts";
import { inodeLockByte } from "../arena/locks.ts";

/** Whether some process has the arena open, as far as the PATH.shared lock tells. */
/**
 * Whether some process has the arena open: "unknown" when FILE.shared exists but
 * cannot be opened (permissions, a symlink loop): the arena itself can still be
 * inspected, and no Bun opener under any name was seen.
 */
export type OpenState = "open" | "not open" | "no lock file" | "unknown";

/** What judgeHeader says about the header, as data. */
export type Validation =
  | { status: "valid" }
  /** A creator was killed before it finished; the next open creates the arena afresh. */
  | { status: "creation-interrupted" }
  /** 0 bytes, as a failed creation leaves it: the next open creates the arena here. */
  | { status: "empty" }
  /** `code` is what the library throws for the same file (ERR_ARENA_CORRUPT, ...). */
  | { status: "invalid"; code: ArenaErrorCode; reason: string };

/** Everything `inspect` reports about one file. */
export interface Inspection {
  path: string;
  /** Where the header was read: the requested offset, or where it was found instead. */
  headerOffset: number;
  /** The offset asked for (default 0). Differs from headerOffset when the header was found elsewhere. */
  requestedHeaderOffset: number;
  /** The four header words, as stored (all 0 for an empty file). */
  header: HeaderWords;
  /** st_size. */
  fileSizeBytes: number;
  /** st_blocks * 512: the disk actually reserved for the file. */
  diskReservedBytes: number;
  /** The bump pointer, capped at the capacity: bytes in use, header included. */
  usedBytes: number;
  capacityBytes: number;
  /** usedBytes / capacityBytes * 100; 0 when the capacity is 0. */
  usedPercent: number;
  openState: OpenState;
  validation: Validation;
}

export interface InspectOptions {
  /** Where to read the header. Default 0, the library's default. */
  headerOffset?: number;
  /**
   * When there is no valid header at headerOffset but one is found at another
   * offset (a header records its own), inspect that one instead, and say so in
   * requestedHeaderOffset. When false, that is ERR_ARENA_HEADER_MISMATCH, as
   * the library's create() with that headerOffset would throw. Default true.
   */
  followHeader?: boolean;
}

/**
 * Reads and judges the arena header of `path`, changing nothing.
 *
 * Throws an ArenaError (with a one-line message) when there is nothing to inspect,
 * with the code the library's create() throws for the same file: the path is
 * missing, unreadable or not a regular file (ERR_ARENA_NOT_A_FILE or the errno
 * name); the file cannot hold a header, or what is at the offset is no header at
 * all (ERR_ARENA_CORRUPT); the header is elsewhere and followHeader is false
 * (ERR_ARENA_HEADER_MISMATCH). A header that fails validation is not thrown for:
 * its Inspection says why it is invalid.
 */
export function inspectArenaFile(path: string, options: InspectOptions = {}): Inspection {
  const requestedHeaderOffset = options.headerOffset ?? 0;
  const kind = fileKind(path);
  if (kind !== "file") {
    throw new ArenaError("ERR_ARENA_NOT_A_FILE", `${path} is ${kind === "directory" ? "a directory" : "not a regular file"}`, { path });
  }
  const fd = openReadOnly(path);
  try {
    const status = statFile(fd, path);
    if (status.kind !== "file") throw new ArenaError("ERR_ARENA_NOT_A_FILE", `${path} is not a regular file`, { path });
    const at = (headerOffset: number, header: HeaderWords, validation: Validation): Inspection => {
      const capacityBytes = safeNumber(header.capacity);
      const usedBytes = Math.min(safeNumber(header.bumpPtr), capacityBytes);
      return {
        path,
        headerOffset,
        requestedHeaderOffset,
        header,
        fileSizeBytes: status.sizeBytes,
        diskReservedBytes: status.allocatedBytes,
        usedBytes,
        capacityBytes,
        usedPercent: capacityBytes === 0 ? 0 : (usedBytes / capacityBytes) * 100,
        openState: probeOpenState(fd, path),
        validation,
      };
    };
    if (status.sizeBytes === 0) return at(requestedHeaderOffset, decodeHeader(new Uint8Array(headerSizeBytes)), { status: "empty" });

    const elsewhere = findHeaderElsewhere(fd, status.sizeBytes, requestedHeaderOffset, path);
    const requested = readAndValidate(fd, status.sizeBytes, requestedHeaderOffset, path);
    const fine = requested !== undefined && requested.validation.status !== "invalid";
    if (fine || elsewhere === undefined) {
      if (requested === undefined) {
        throw notAnArena(path, `${status.sizeBytes} bytes is too short for a header at ${requestedHeaderOffset}`);
      }
      const { header, validation } = requested;
      if (validation.status === "invalid" && !looksLikeHeader(header, requestedHeaderOffset)) {
        throw validation.code === "ERR_ARENA_HEADER_MISMATCH"
          ? new ArenaError(validation.code, `${path} ${validation.reason}`, { path })
          : notAnArena(path, validation.reason, validation.code);
      }
      return at(requestedHeaderOffset, header, validation);
    }
    // As create() does: a valid header at another offset means the wrong offset was asked for.
    if (options.followHeader === false) {
      throwIfHeaderIsElsewhereIn((into, offset) => readAt(fd, into, offset, path), status.sizeBytes, requestedHeaderOffset, path);
    }
    const found = readAndValidate(fd, status.sizeBytes, elsewhere, path)!; // findHeader saw 32 bytes there
    return at(elsewhere, found.header, found.validation);
  } finally {
    closeFile(fd, path);
  }
}

/** The header at `headerOffset` and its verdict, or undefined when the file is too short for one. */
function readAndValidate(fd: number, fileSizeBytes: number, headerOffset: number, path: string) {
  if (fileSizeBytes < headerOffset + headerSizeBytes) return undefined;
  const bytes = new Uint8Array(headerSizeBytes);
  const read = readAt(fd, bytes, headerOffset, path);
  if (read !== headerSizeBytes) throw notAnArena(path, `short read of the header (${read} bytes)`);
  const header = decodeHeader(bytes);
  return { header, validation: validate(header, fileSizeBytes, headerOffset, path) };
}

/** Where findHeader sees a valid header other than at `headerOffset`, if anywhere. */
function findHeaderElsewhere(fd: number, fileSizeBytes: number, headerOffset: number, path: string): number | undefined {
  const start = new Uint8Array(Math.min(fileSizeBytes, headerSearchLimitBytes));
  const read = readAt(fd, start, 0, path);
  return findHeader(start.subarray(0, read), fileSizeBytes, headerOffset);
}

function fileKind(path: string): "file" | "directory" | "other" {
  try {
    const stats = statSync(path);
    return stats.isFile() ? "file" : stats.isDirectory() ? "directory" : "other";
  } catch (error) {
    throw fromNodeError(error, path);
  }
}

function openReadOnly(path: string): number {
  try {
    // Through the shim: a node:fs fd is no handle on Windows; and non-blocking
    // (mfa_open), so that a FIFO swapped in after the kind check cannot hang us.
    return openFile(path, { create: false, readOnly: true });
  } catch (error) {
    throw fromNodeError(error, path);
  }
}

/** Node's fs errors carry a code (ENOENT, EACCES, ...); keep it, drop the stack-ish message. */
function fromNodeError(error: unknown, path: string): ArenaError {
  const code = ((error as NodeJS.ErrnoException).code ?? "EIO") as SystemErrorCode;
  const why: Record<string, string> = {
    ENOENT: "no such file",
    EACCES: "permission denied",
    ENOTDIR: "a component of the path is not a directory",
    ELOOP: "too many symbolic links",
    ENAMETOOLONG: "the path is too long",
  };
  return new ArenaError(code, `${path}: ${why[code] ?? code}`, { path });
}

/** What the library's create() throws for a file that holds no arena header. */
function notAnArena(path: string, why: string, code: ArenaErrorCode = "ERR_ARENA_CORRUPT"): ArenaError {
  return new ArenaError(code, `${path} is not an arena file: ${why}`, { path });
}

function validate(header: HeaderWords, fileSizeBytes: number, headerOffset: number, path: string): Validation {
  try {
    const verdict = judgeHeader(header, fileSizeBytes, headerOffset, path);
    return verdict.kind === "valid" ? { status: "valid" } : { status: "creation-interrupted" };
  } catch (error) {
    if (!(error instanceof ArenaError)) throw error;
    return { status: "invalid", code: error.code, reason: reasonOnly(error.message, path) };
  }
}

/** judgeHeader's message without the path, the "is not a valid arena" and the "left untouched" the table does not need. */
function reasonOnly(message: string, path: string): string {
  let reason = message.startsWith(`${path} `) ? message.slice(path.length + 1) : message;
  reason = reason.replace(/^is not a valid arena: /, "");
  return reason.replace(/; it was left untouched$/, "");
}

/**
 * A header records its own offset (word 3). When that word is not the offset we
 * read at, what we read is not an arena header, or the header is elsewhere
 * (the search, throwIfHeaderIsElsewhere, says where). Either way there is no
 * table worth printing. A creation that was interrupted has 0 there.
 */
function looksLikeHeader(header: HeaderWords, headerOffset: number): boolean {
  return header.headerOffset === BigInt(headerOffset) || (header.headerOffset === 0n && header.capacity === 0n);
}

function probeOpenState(fd: number, path: string): OpenState {
  // Our openers under any name hold the inode lock; testing it takes nothing.
  if (testRange(fd, inodeLockByte, path) === "busy") return "open";
  const sharedPath = `${path}.shared`;
  let sharedFd: number;
  try {
    // Read-only and never O_CREAT: inspecting must not leave a .shared file behind.
    // Non-blocking (mfa_open): a FIFO there would otherwise wait for a writer forever.
    sharedFd = openFile(sharedPath, { create: false, readOnly: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "no lock file";
    // FILE.shared is only the LLVM openers' lock file: not being able to read it
    // is no reason to give up on the arena, whose header we have read.
    return "unknown";
  }
  try {
    // Only a regular file is a lock file; a FIFO or a device there says nothing.
    if (statFile(sharedFd, sharedPath).kind !== "file") return "unknown";
    if (!tryLockFile(sharedFd, "exclusive", sharedPath)) return "open";
    unlockFile(sharedFd, sharedPath);
    return "not open";
  } finally {
    closeFile(sharedFd, sharedPath);
  }
}

function safeNumber(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}
