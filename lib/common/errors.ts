/**
 * The one error type the arena throws for anything other than a wrong argument.
 *
 * Wrong arguments are the caller's bug and throw the built-in `TypeError` or
 * `RangeError`, naming the argument. Everything that depends on the world (the
 * file, the disk, other processes) is an `ArenaError` whose `code` a program can
 * switch on: one of the `ERR_ARENA_*` codes below, or the errno name of a failed
 * system call (`ENOSPC`, `ENOENT`, `EACCES`, ...), in which case `syscall` names it.
 */
export type ArenaErrorCode = LibraryErrorCode | SystemErrorCode;

/** The codes the library makes itself; each layer's docs table says when. */
export type LibraryErrorCode =
  // The arena (docs/arena.md), and every layer built on it.
  | "ERR_ARENA_FULL"
  | "ERR_ARENA_CLOSED"
  | "ERR_ARENA_HEADER_MISMATCH"
  | "ERR_ARENA_CORRUPT"
  | "ERR_ARENA_UNSUPPORTED_FS"
  | "ERR_ARENA_NOT_A_FILE"
  | "ERR_ARENA_NATIVE_LIBRARY"
  | "ERR_ARENA_CREATING"
  | "ERR_ARENA_READ_ONLY"
  | "ERR_ARENA_NOT_CREATED"
  | "ERR_ARENA_UNSUPPORTED_RUNTIME"
  | "ERR_ARENA_TOO_LARGE"
  // The content store (docs/store.md).
  | "ERR_CAS_CORRUPT"
  | "ERR_CAS_BUSY"
  | "ERR_CAS_POISONED"
  | "ERR_CAS_MISSING_REF"
  | "ERR_CAS_CLOSED"
  | "ERR_CAS_NOT_A_STORE"
  | "ERR_CAS_INTERNAL"
  // The record log (docs/log.md).
  | "ERR_LOG_CORRUPT"
  | "ERR_LOG_TOO_MANY_WRITERS";

/**
 * The errno name of a failed system call (the shim's, or node:fs's in the store),
 * the same on every platform (Windows errors are reported as the errno they mean:
 * lib/native/errno.ts); `E<number>` for a number without a name there. A closed
 * list, so that a misspelt code in `error.code === "..."` does not type-check.
 */
export type SystemErrorCode =
  | "EPERM" | "ENOENT" | "EINTR" | "EIO" | "ENXIO" | "EBADF" | "EAGAIN" | "ENOMEM" | "EACCES"
  | "EFAULT" | "EBUSY" | "EEXIST" | "EXDEV" | "ENODEV" | "ENOTDIR" | "EISDIR" | "EINVAL"
  | "ENFILE" | "EMFILE" | "ETXTBSY" | "EFBIG" | "ENOSPC" | "ESPIPE" | "EROFS" | "EMLINK"
  | "EPIPE" | "ENAMETOOLONG" | "ENOLCK" | "ENOSYS" | "ENOTEMPTY" | "ELOOP" | "EOVERFLOW"
  | "EOPNOTSUPP" | "ENOTSUP" | "EDQUOT" | "ESTALE" | "ECANCELED" | "ETIMEDOUT"
  | `E${number}`;

/** The optional facts an ArenaError carries besides its code and message. */
export interface ArenaErrorDetails {
  /** The system call that failed, when the error comes from one. */
  syscall?: string;
  /** The file the error is about. */
  path?: string;
  /** The raw errno, when the error comes from a system call. */
  errno?: number;
  /** RecordLog.appendBatch: how many of the batch's records were committed before it failed. */
  committedRecords?: number;
}

/**
 * An error from the world (file, disk, other processes), never from a wrong argument.
 * Switch on `code`; `syscall`, `path` and `errno` say where it came from when known.
 */
export class ArenaError extends Error {
  override readonly name = "ArenaError";
  readonly code: ArenaErrorCode;
  // syscall, path and errno are absent when unknown (not even undefined, so that
  // a printed error shows only what it knows), as committedRecords is.
  /** The system call that failed, when the error comes from one. */
  declare readonly syscall?: string;
  /** The file the error is about. */
  declare readonly path?: string;
  /** The raw errno (a Windows error code on Windows), when the error comes from a system call. */
  declare readonly errno?: number;
  /**
   * RecordLog.appendBatch only: how many of the batch's records were committed
   * before it failed. Absent from every other error (not even undefined, so
   * that printing one does not show it).
   */
  declare readonly committedRecords?: number;

  constructor(code: ArenaErrorCode, message: string, details: ArenaErrorDetails = {}) {
    super(message);
    this.code = code;
    const facts = this as { syscall?: string; path?: string; errno?: number; committedRecords?: number };
    if (details.syscall !== undefined) facts.syscall = details.syscall;
    if (details.path !== undefined) facts.path = details.path;
    if (details.errno !== undefined) facts.errno = details.errno;
    if (details.committedRecords !== undefined) facts.committedRecords = details.committedRecords;
  }
}

/** The ERR_ARENA_CLOSED error for an arena (or `what` is built on one: "the record log") used after close(). */
export function closedError(path: string, what = "arena"): ArenaError {
  return new ArenaError("ERR_ARENA_CLOSED", `${what} is closed: ${path}`, { path });
}

/** The ERR_ARENA_READ_ONLY error for a write entry (`what`) called on something opened read-only. */
/** `opener`: the static method that opens the same thing for writing (create for the arena, trie and pool; open for the store and log). */
export function readOnlyError(path: string, what: string, opener: "create" | "open" = "create"): ArenaError {
  return new ArenaError(
    "ERR_ARENA_READ_ONLY",
    `${what} is not possible: ${path} was opened read-only (openReadOnly); open it with ${opener}() to write`,
    { path },
  );
}

/**
 * The ENOENT of a read-only open whose file is not there, said as what it means:
 * nothing has created `what` at `path` yet, and `creator` (a writer's opener)
 * would; openReadOnly never creates. Any other error is returned as it is.
 */
export function notCreatedYet(error: unknown, path: string, what: string, creator: string): unknown {
  if (!(error instanceof ArenaError) || error.code !== "ENOENT" || error.path !== path) return error;
  return new ArenaError("ENOENT", notCreatedYetMessage(path, what, creator), { syscall: error.syscall, path, errno: error.errno });
}

/** notCreatedYet's message, for a caller whose ENOENT is not an ArenaError yet (node:fs's). */
export function notCreatedYetMessage(path: string, what: string, creator: string): string {
  return `${path} does not exist: no ${what} has been created there yet; a writer creates it with ${creator} (openReadOnly never creates one)`;
}
