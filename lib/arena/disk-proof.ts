/**
 * What disk an arena file really has reserved, proved from the file rather than
 * taken from a word anyone can write.
 *
 * A write through the mapping into a hole that the file system cannot fill
 * (a full disk) is SIGBUS, so every byte handed out must lie in reserved disk.
 * The header's allocatedSize word says how much is, but it is only what its last
 * writer claimed: a sparse copy (`cp`, `rsync -S`, a restore) keeps the word and
 * loses the blocks, and LLVM stores st_blksize * 512 whatever it reserved. A
 * block count (st_blocks) is no proof either: blocks past the bump pointer can
 * hide holes below it. What proves a prefix is lseek(SEEK_HOLE) from 0: the
 * first hole. Unwritten but reserved extents may read as holes (ext4, xfs),
 * which costs only a redundant fallocate later, never a SIGBUS.
 *
 * What it costs: on ext4, SEEK_HOLE through unwritten extents (reserved, written
 * through the mapping but not yet written back) walks the page cache page by
 * page: measured 21 us for 2 MiB, so an open of a freshly written GiB pays
 * milliseconds until writeback converts the extents (then it walks extents).
 * So the bytes that must be proven are asked of the extent map first (FIEMAP,
 * Linux): one call that reads only the extents, and that proves the common
 * reopen of a fully reserved file (a few extents from 0 past the used bytes).
 * Only when it cannot say (tmpfs, macOS, Windows, more extents than one call
 * returns, a hole) does SEEK_HOLE decide. The other alternative, one fallocate
 * over [0, bumpPtr) per open, is O(extents) but journals and bumps the file's
 * mtime on every open, and measured no faster in bench/open-close.ts.
 */
import { ArenaError } from "../common/errors.ts";
import { errnoName, isPreallocationUnsupported } from "../native/errno.ts";
import { firstDataAt, firstHoleAt, freeDiskBytes, reserveDisk, reservedPrefixBytes, statFile } from "../native/native.ts";
import type { HeaderVerdict } from "./header.ts";
import { arenaVariant } from "./broken-variants.ts";

/** A file's extents are walked at most this far; past it, the walk assumes the worst. */
const extentWalkLimit = 1024;

/**
 * The end of a prefix of the file that certainly holds disk blocks: at least
 * `neededBytes` when the extent map alone shows that much, else the first hole.
 */
export function provenPrefixBytes(fd: number, path: string, neededBytes = Number.POSITIVE_INFINITY): number {
  if (neededBytes !== Number.POSITIVE_INFINITY) {
    const fromExtents = reservedPrefixBytes(fd, neededBytes);
    if (fromExtents !== undefined && fromExtents >= neededBytes) return fromExtents;
  }
  return firstHoleAt(fd, 0, path);
}

/**
 * Reserves the holes among the bytes of an existing arena that may have been
 * handed out, so that a write into any of them is never SIGBUS; on a full disk
 * that is an ENOSPC from create. Returns the prefix now proven reserved. Nothing
 * is asked of the file when `alreadyProvenBytes` (what an arena of this thread
 * that has held the file open all along proved: live-files.ts) covers them.
 *
 * Which bytes may have been handed out: those below the bump pointer; for an
 * arena left past its capacity by a killed overflowing allocation (full: where
 * the last real allocation ended is unknown), those below the end of the file's
 * last data: the bytes after it were never written, and reserving up to the
 * capacity would take disk for a whole capacity nobody used (or fail forever
 * on a disk smaller than it).
 */
export function reserveHandedOutBytes(
  fd: number,
  verdict: Extract<HeaderVerdict, { kind: "valid" }>,
  path: string,
): number {
  const usedBytes = verdict.overflowed ? overflowedEndBytes(fd, verdict.capacity, path) : verdict.usedBytes;
  const firstHole = arenaVariant.broken === "blocks-count-as-proof" ? statFile(fd, path).allocatedBytes : provenPrefixBytes(fd, path, usedBytes);
  if (firstHole >= usedBytes) return firstHole;
  reserveRange(fd, firstHole, usedBytes, `the ${usedBytes} used bytes (holes: a sparse copy?)`, path);
  return usedBytes;
}

/**
 * Reserves disk for [start, end); a full disk is an ArenaError ENOSPC. When the
 * free space cannot hold even the least the range can need (its end less every
 * block the file has), it is refused before fallocate runs: a failed fallocate
 * keeps what it took on ext4, and a refused open must leave the disk as it was.
 * (Unwritten reserved extents read as holes, so the holes themselves would
 * overstate the need and refuse a file that fits.)
 */
export function reserveRange(fd: number, start: number, end: number, what: string, path: string): void {
  const leastNeededBytes = end - statFile(fd, path).allocatedBytes;
  let errno = leastNeededBytes > 0 && leastNeededBytes > freeDiskBytes(fd, path) ? enospc : 0;
  if (errno === 0) errno = reserveDisk(fd, start, end);
  if (errno === 0 || isPreallocationUnsupported(errno)) return;
  const code = errnoName(errno);
  throw new ArenaError(code, `cannot reserve disk for ${what} of ${path}: ${code}`, { syscall: "fallocate", path, errno });
}

const enospc = 28;

/** What may have been handed out of an arena left past its capacity: up to its last data. */
function overflowedEndBytes(fd: number, capacity: number, path: string): number {
  if (arenaVariant.broken === "reserve-overflowed-to-capacity") return capacity;
  return dataEndBytes(fd, capacity, path);
}

/**
 * Where the file's last data ends, below `end`; walks at most extentWalkLimit
 * extents and assumes `end` past that.
 */
function dataEndBytes(fd: number, end: number, path: string): number {
  let position = 0;
  let dataEnd = 0;
  for (let extent = 0; extent < extentWalkLimit; extent++) {
    const data = firstDataAt(fd, position, path);
    if (data === undefined || data >= end) return dataEnd;
    dataEnd = Math.min(firstHoleAt(fd, data, path), end);
    // No progress: a file system that cannot say (Windows); assume the worst.
    if (dataEnd >= end || dataEnd <= data) return end;
    position = dataEnd;
  }
  return end;
}
