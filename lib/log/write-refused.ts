/**
 * What a writer's RecordLog.open says when the file may only be read: the
 * system's error (EACCES, EPERM, EROFS), with the way to read the log instead.
 */
import { existsSync } from "node:fs";
import { ArenaError } from "../common/errors.ts";

/**
 * A writer's open refused for want of permission (a file or folder the caller
 * may only read, a read-only mount) says how to read the log instead. Only for a
 * file that exists: a log that is not there cannot be read either.
 */
export function withReadOnlyHint(error: unknown, path: string): unknown {
  const denied = error instanceof ArenaError && (error.code === "EACCES" || error.code === "EPERM" || error.code === "EROFS");
  if (!denied || !existsSync(path)) return error;
  const hint = "; to read it without writing, open it with RecordLog.openReadOnly(path)";
  return new ArenaError(error.code, `${error.message}${hint}`, { syscall: error.syscall, path: error.path, errno: error.errno });
}
