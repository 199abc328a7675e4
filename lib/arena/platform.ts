/**
 * The places where the arena differs by platform.
 *
 * The protocol is LLVM's on every platform: the same locks on the same files, the
 * same order of steps. Windows adds two cases that POSIX does not have.
 *
 * Shrinking (shrinkAfterLastClose). A file cannot be made shorter than a view of
 * it that any process still has mapped (ERROR_USER_MAPPED_FILE), and a closer that
 * is not the last releases its shared lock on PATH.shared a moment before it
 * unmaps. The last closer can fall into that moment: it then finds the file still
 * mapped and cannot shrink it. That is not a failure of its close (everything it
 * wrote is in the file, every resource is released), so the shrink is left to the
 * next last closer, and the file stays at its capacity (sparse) until then. LLVM
 * ignores every failure to shrink; we ignore only this one. On Linux and macOS a
 * mapped file can be truncated, and nothing changes.
 *
 * Stolen windows (canReplaceMappedRanges): see below.
 */
import { ArenaError } from "../common/errors.ts";
import { isMappedFileError } from "../native/errno.ts";
import { truncateFile } from "../native/native.ts";

/** The last closer's shrink to `sizeBytes`; skipped on Windows while another closer's view is still mapped. */
export function shrinkAfterLastClose(fd: number, sizeBytes: number, path: string): void {
  try {
    truncateFile(fd, sizeBytes, path);
  } catch (error) {
    if (error instanceof ArenaError && error.errno !== undefined && isMappedFileError(error.errno)) return;
    throw error;
  }
}

/**
 * Stolen windows (mapping.ts). On POSIX, close() replaces a mapping that views were
 * made of with zero pages, in place, and reuses its addresses for a later mapping
 * (placeholder-pool.ts). A Windows view is unmapped whole or not at all, and has no
 * in-place replacement (the placeholder calls of Windows 10 are not in Wine 8 to be
 * tested), so there the whole view stays mapped until the process exits: the taken
 * buffer keeps reading the file's bytes instead of zeros, the process is as safe,
 * and the file cannot be shrunk meanwhile (see shrinkAfterLastClose), which on
 * Windows is also what makes a mapped view safe from a shrink by another process.
 */
export const canReplaceMappedRanges = process.platform !== "win32";
