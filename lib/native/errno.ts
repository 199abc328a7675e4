/**
 * errno numbers to names, for the calls the shim makes. The numbers differ between
 * Linux and macOS, so each has its table; a number not listed is reported as
 * `E<number>` rather than guessed.
 */
const linux: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 4: "EINTR", 5: "EIO", 6: "ENXIO", 9: "EBADF", 11: "EAGAIN", 12: "ENOMEM",
  13: "EACCES", 16: "EBUSY", 17: "EEXIST", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR",
  22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC",
  30: "EROFS", 36: "ENAMETOOLONG", 37: "ENOLCK", 40: "ELOOP", 75: "EOVERFLOW",
  95: "EOPNOTSUPP", 122: "EDQUOT",
};

const darwin: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 4: "EINTR", 5: "EIO", 6: "ENXIO", 9: "EBADF", 12: "ENOMEM", 13: "EACCES",
  16: "EBUSY", 17: "EEXIST", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL",
  23: "ENFILE", 24: "EMFILE", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 30: "EROFS",
  35: "EAGAIN", 45: "ENOTSUP", 62: "ELOOP", 63: "ENAMETOOLONG", 69: "EDQUOT", 77: "ENOLCK",
  84: "EOVERFLOW", 102: "EOPNOTSUPP",
};

const table = process.platform === "darwin" ? darwin : linux;

/** This platform's name for an errno number ("ENOSPC"), or "E<number>" if unlisted. */
export function errnoName(errno: number): string {
  return table[errno] ?? `E${errno}`;
}

/** EWOULDBLOCK is EAGAIN on both platforms: a non-blocking flock that must wait. */
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
