/**
 * File-system errors as ArenaErrors. Node's fs throws plain Errors with an errno
 * name in `code`; the store promises an ArenaError for everything that depends on
 * the world, with that errno name as its code (as lib/native does for its calls).
 */
import { ArenaError, type SystemErrorCode } from "../common/errors.ts";

/** `error` as an ArenaError: unchanged if it is one (or is not an fs error), else wrapped with its errno name. */
export function toArenaError(error: unknown, path: string): unknown {
  if (error instanceof ArenaError) return error;
  const failure = error as NodeJS.ErrnoException;
  if (typeof failure?.code !== "string") return error;
  // Node names an fs error by its errno (libuv's names, the same as the shim's).
  return new ArenaError(failure.code as SystemErrorCode, failure.message, { path, syscall: failure.syscall, errno: failure.errno });
}

/** Runs `action`, rethrowing an fs error from it as an ArenaError about `path`. */
export function wrapFsErrors<T>(path: string, action: () => T): T {
  try {
    return action();
  } catch (error) {
    throw toArenaError(error, path);
  }
}

/**
 * Codes of a failed write that say the machine could not make it (the disk or a
 * quota is full, the mount read-only, a table full, no descriptors left), not
 * that what was being copied is unreadable. A read whose copy forward fails so
 * returns the object from where it is, as a read-only store does: put's ENOSPC
 * is documented, get's is not.
 */
const cannotWrite = new Set(["ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EACCES", "EPERM", "EMFILE", "ENFILE", "ENOMEM", "ERR_ARENA_FULL"]);

/** True when `error` is one of the machine's refusals to write (see cannotWrite). */
export function isCannotWrite(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && cannotWrite.has(code);
}
