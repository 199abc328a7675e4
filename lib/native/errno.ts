/**
 * Error numbers to names, for the calls the shim makes. The numbers differ between
 * Linux and macOS, so each has its table; a number not listed is reported as
 * `E<number>` rather than guessed.
 *
 * On Windows the shim returns GetLastError() codes. Each one the arena's calls can
 * give is named by the errno it means (ERROR_DISK_FULL is ENOSPC), so a program
 * switches on the same codes everywhere; windowsErrorName gives the Windows name for
 * messages. The pairs follow what the C runtime's and libuv's tables do.
 */
import type { SystemErrorCode } from "../common/errors.ts";

const linux: Record<number, SystemErrorCode> = {
  1: "EPERM", 2: "ENOENT", 4: "EINTR", 5: "EIO", 6: "ENXIO", 9: "EBADF", 11: "EAGAIN", 12: "ENOMEM",
  13: "EACCES", 16: "EBUSY", 17: "EEXIST", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR",
  22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC",
  30: "EROFS", 36: "ENAMETOOLONG", 37: "ENOLCK", 40: "ELOOP", 75: "EOVERFLOW",
  95: "EOPNOTSUPP", 122: "EDQUOT",
};

const darwin: Record<number, SystemErrorCode> = {
  1: "EPERM", 2: "ENOENT", 4: "EINTR", 5: "EIO", 6: "ENXIO", 9: "EBADF", 12: "ENOMEM", 13: "EACCES",
  16: "EBUSY", 17: "EEXIST", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL",
  23: "ENFILE", 24: "EMFILE", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 30: "EROFS",
  35: "EAGAIN", 45: "ENOTSUP", 62: "ELOOP", 63: "ENAMETOOLONG", 69: "EDQUOT", 77: "ENOLCK",
  84: "EOVERFLOW", 102: "EOPNOTSUPP",
};

/** Windows error code: [its name, the errno name it is reported as]. */
const windows: Record<number, [string, SystemErrorCode]> = {
  1: ["ERROR_INVALID_FUNCTION", "EOPNOTSUPP"], // a file system without the operation (FSCTL_SET_SPARSE on FAT)
  2: ["ERROR_FILE_NOT_FOUND", "ENOENT"],
  3: ["ERROR_PATH_NOT_FOUND", "ENOENT"],
  4: ["ERROR_TOO_MANY_OPEN_FILES", "EMFILE"],
  5: ["ERROR_ACCESS_DENIED", "EACCES"],
  6: ["ERROR_INVALID_HANDLE", "EBADF"],
  8: ["ERROR_NOT_ENOUGH_MEMORY", "ENOMEM"],
  14: ["ERROR_OUTOFMEMORY", "ENOMEM"],
  19: ["ERROR_WRITE_PROTECT", "EROFS"],
  21: ["ERROR_NOT_READY", "EIO"],
  23: ["ERROR_CRC", "EIO"],
  32: ["ERROR_SHARING_VIOLATION", "EBUSY"],
  33: ["ERROR_LOCK_VIOLATION", "EAGAIN"], // LockFileEx with LOCKFILE_FAIL_IMMEDIATELY: must wait
  38: ["ERROR_HANDLE_EOF", "EIO"],
  39: ["ERROR_HANDLE_DISK_FULL", "ENOSPC"],
  50: ["ERROR_NOT_SUPPORTED", "EOPNOTSUPP"],
  53: ["ERROR_BAD_NETPATH", "ENOENT"],
  80: ["ERROR_FILE_EXISTS", "EEXIST"],
  87: ["ERROR_INVALID_PARAMETER", "EINVAL"],
  112: ["ERROR_DISK_FULL", "ENOSPC"],
  123: ["ERROR_INVALID_NAME", "ENOENT"],
  158: ["ERROR_NOT_LOCKED", "ENOLCK"],
  167: ["ERROR_LOCK_FAILED", "ENOLCK"],
  183: ["ERROR_ALREADY_EXISTS", "EEXIST"],
  206: ["ERROR_FILENAME_EXCED_RANGE", "ENAMETOOLONG"],
  267: ["ERROR_DIRECTORY", "ENOTDIR"],
  336: ["ERROR_DIRECTORY_NOT_SUPPORTED", "EISDIR"], // the shim's answer for opening a directory
  665: ["ERROR_FILE_SYSTEM_LIMITATION", "EFBIG"],
  1224: ["ERROR_USER_MAPPED_FILE", "EBUSY"], // shrinking a file below another process's view
  1295: ["ERROR_DISK_QUOTA_EXCEEDED", "EDQUOT"],
  1450: ["ERROR_NO_SYSTEM_RESOURCES", "ENOMEM"],
  1455: ["ERROR_COMMITMENT_LIMIT", "ENOMEM"],
  1920: ["ERROR_CANT_ACCESS_FILE", "EACCES"],
};

const posixTable = process.platform === "darwin" ? darwin : linux;

/**
 * This platform's name for an error number ("ENOSPC"), or "E<number>" if unlisted;
 * on Windows the errno name of a Windows error code, or "E<code>" if unlisted.
 */
export function errnoName(errno: number): SystemErrorCode {
  if (process.platform === "win32") return windows[errno]?.[1] ?? `E${errno}`;
  return posixTable[errno] ?? `E${errno}`;
}

/**
 * How a person on this platform knows the error, for messages: "ENOSPC" on Linux and
 * macOS; "ENOSPC (ERROR_DISK_FULL, Windows error 112)" on Windows.
 */
export function describeError(errno: number): string {
  if (process.platform !== "win32") return errnoName(errno);
  const windowsName = windows[errno]?.[0] ?? "an unlisted code";
  return `${errnoName(errno)} (${windowsName}, Windows error ${errno})`;
}

/**
 * EWOULDBLOCK is EAGAIN on Linux and macOS: a non-blocking flock that must wait; on
 * Windows, LockFileEx's ERROR_LOCK_VIOLATION, which is named EAGAIN above.
 */
export function isWouldBlock(errno: number): boolean {
  return errnoName(errno) === "EAGAIN";
}

/** The file system cannot reserve space; LLVM treats this as "nothing to do". */
export function isPreallocationUnsupported(errno: number): boolean {
  const name = errnoName(errno);
  // Some file systems answer fallocate(2) with EINVAL rather than EOPNOTSUPP (and
  // before POSIX.1-2024, posix_fallocate did too); our arguments are always valid.
  return name === "EOPNOTSUPP" || name === "ENOTSUP" || name === "EINVAL";
}

/** Windows: the file cannot be shortened while a view of it is mapped (ERROR_USER_MAPPED_FILE). */
export function isMappedFileError(errno: number): boolean {
  return process.platform === "win32" && errno === 1224;
}
