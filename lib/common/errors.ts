/**
 * The one error type the arena throws for anything other than a wrong argument.
 *
 * Wrong arguments are the caller's bug and throw the built-in `TypeError` or
 * `RangeError`, naming the argument. Everything that depends on the world (the
 * file, the disk, other processes) is an `ArenaError` whose `code` a program can
 * switch on: one of the `ERR_ARENA_*` codes below, or the errno name of a failed
 * system call (`ENOSPC`, `ENOENT`, `EACCES`, ...), in which case `syscall` names it.
 */
export type ArenaErrorCode =
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
  | (string & {});

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
  readonly syscall: string | undefined;
  readonly path: string | undefined;
  readonly errno: number | undefined;
  /**
   * RecordLog.appendBatch only: how many of the batch's records were committed
   * before it failed. Absent from every other error (not even undefined, so
   * that printing one does not show it).
   */
  declare readonly committedRecords?: number;

  constructor(code: ArenaErrorCode, message: string, details: ArenaErrorDetails = {}) {
    super(message);
    this.code = code;
    this.syscall = details.syscall;
    this.path = details.path;
    this.errno = details.errno;
    if (details.committedRecords !== undefined) (this as { committedRecords?: number }).committedRecords = details.committedRecords;
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
