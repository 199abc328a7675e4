/**
 * LLVM's open and close protocol for a MappedFileRegionArena file, step by step.
 *
 * Two flock locks coordinate every opener, in this process or any other:
 *  - PATH.shared, held shared from open until close, says "someone has the arena
 *    open". The last closer is the one that can take it exclusively; only it may
 *    shrink the file, because nobody else has the file mapped.
 *  - PATH itself, held only while opening: shared to look at the file, exclusive to
 *    create, resize or repair it, so exactly one opener does each of those.
 *
 * flock, never fcntl: fcntl locks belong to the process, so two arenas in one
 * process, or two Workers, would share one lock and each think it was alone.
 * flock locks belong to the open file description, like LLVM's.
 *
 * Where we part from LLVM, on purpose:
 *  - The header is read with pread and judged before anything is mapped or
 *    resized, and before PATH.shared is created; a file that is not a valid arena
 *    is refused and left as it was, with nothing beside it (LLVM resizes any
 *    short file to the capacity and may take it over).
 *  - A creation that fails (onCreate throws, mmap fails) leaves an empty file, so
 *    the next opener creates it afresh; LLVM leaves a header whose capacity is 0,
 *    which every later open refuses. A creator killed before it finished leaves a
 *    header marked "creation in progress" (written first, in one pwrite; see
 *    header.ts), and the next opener that finds nobody else holding the file
 *    creates it again.
 *  - A path that is refused after the main file was created (an unsafe file
 *    system, no descriptors left) keeps the empty file: removing it could remove
 *    a file another process has just opened and made into an arena.
 *  - Unsafe file systems (network, FUSE) are refused unless the caller opts in.
 */
import { ArenaError } from "../common/errors.ts";
import { errnoName, isPreallocationUnsupported } from "../native/errno.ts";
import {
  allocatedSizeWord,
  bumpPointerWord,
  capacityWord,
  creationMarker,
  decodeHeader,
  findHeader,
  headerOffsetWord,
  headerSearchLimitBytes,
  headerSizeBytes,
  judgeHeader,
} from "./header.ts";
import { unsafeFileSystemName } from "./filesystem.ts";
import { Mapping } from "./mapping.ts";
import { shrinkAfterLastClose } from "./platform.ts";
import {
  closeFile,
  fileSystemOf,
  lockFile,
  mapFile,
  openFile,
  readAt,
  reserveDisk,
  statFile,
  truncateFile,
  tryLockFile,
  unlockFile,
  writeAt,
  type FileStatus,
  type LockKind,
} from "../native/native.ts";

export interface OpenRequest {
  path: string;
  capacity: number;
  headerOffset: number;
  allowUnsafeFileSystem: boolean;
}

/** Everything an open arena holds. */
export interface OpenArena {
  path: string;
  mainFd: number;
  sharedFd: number;
  mapping: Mapping;
  /** The four header words, over the mapping. */
  header: BigInt64Array;
  capacity: number;
  headerOffset: number;
}

/** A file descriptor with the lock this opener currently holds on it. */
class LockedFile {
  lock: LockKind | null = null;
  constructor(readonly fd: number, readonly path: string) {}

  acquire(kind: LockKind): void {
    if (this.lock === kind) return;
    // flock converts a held lock in place, but not atomically; LLVM unlocks and
    // relocks explicitly, and so do we, so that nobody reasons about a conversion.
    if (this.lock !== null) this.release();
    lockFile(this.fd, kind, this.path);
    this.lock = kind;
  }

  release(): void {
    if (this.lock === null) return;
    this.lock = null;
    unlockFile(this.fd, this.path);
  }
}

/**
 * Opens (creating if needed) the arena at request.path. When this opener creates
 * the file, `initializeNewArena` runs with exclusive access after the bump pointer
 * is set and before capacity and headerOffset are written; if it throws, the file
 * is left empty and the error is rethrown.
 */
export function openArena(request: OpenRequest, initializeNewArena: (arena: OpenArena) => void): OpenArena {
  const { path, headerOffset } = request;
  // The main file is opened first, so that a path that cannot be an arena (a
  // directory, a device, an unsafe file system) is refused before a .shared
  // companion is created beside it.
  const mainFd = openMainFile(path);
  let sharedFd = -1;
  let mapping: Mapping | undefined;
  let isNew = false;
  const main = new LockedFile(mainFd, path);
  try {
    checkFileIsUsable(mainFd, path, request.allowUnsafeFileSystem);
    refuseIfNotAnArena(mainFd, headerOffset, path);
    sharedFd = openFile(`${path}.shared`, { create: true });
    // Held until close: while we hold it, nobody shrinks the file under us.
    lockFile(sharedFd, "shared", `${path}.shared`);

    main.acquire("shared");
    let status = statFile(mainFd, path);
    if (status.sizeBytes < request.capacity) {
      // New, or shrunk by a last close: whoever resizes needs to be alone.
      main.acquire("exclusive");
      status = statFile(mainFd, path);
    }

    let capacity = request.capacity;
    isNew = status.sizeBytes === 0;
    if (!isNew) {
      let verdict = readAndJudgeHeader(mainFd, status, headerOffset, path);
      if (verdict.kind === "creation-interrupted") {
        // Look again alone: another opener may have redone (or undone) it meanwhile.
        main.acquire("exclusive");
        status = statFile(mainFd, path);
        isNew = status.sizeBytes === 0;
        if (!isNew) verdict = readAndJudgeHeader(mainFd, status, headerOffset, path);
        if (!isNew && verdict.kind === "creation-interrupted") {
          discardInterruptedCreation(mainFd, sharedFd, status, headerOffset, path);
          isNew = true;
          status = { ...status, sizeBytes: 0 };
        }
      }
      if (verdict.kind === "valid") capacity = verdict.capacity;
    }

    if (isNew) {
      // The header goes in first, in one pwrite into the empty file, before the file
      // is grown: a creator killed at any later point leaves a header that says
      // "creation in progress" (see creationMarker) instead of a file of zeros,
      // which nobody could tell from a stranger's file and every open would refuse.
      writeHeaderOfNewArena(mainFd, headerOffset, path);
      status = { ...status, sizeBytes: headerOffset + headerSizeBytes };
    }
    if (status.sizeBytes < capacity) {
      // Sparse: on ext4, xfs, btrfs, tmpfs and APFS this reserves no disk. Disk is
      // reserved per allocation instead (see arena.ts), so a full disk is an error
      // rather than SIGBUS.
      main.acquire("exclusive");
      truncateFile(mainFd, capacity, path);
    }
    if (isNew) {
      // onCreate may write the caller's bytes before the header through the mapping,
      // before any allocation reserves disk: on a full disk that write into a sparse
      // hole would be SIGBUS. Reserve them now: a full disk is an ENOSPC from create.
      reserveHeader(mainFd, headerOffset + headerSizeBytes, path);
    }

    mapping = new Mapping(mapFile(mainFd, capacity, path), capacity, path);
    const header = new BigInt64Array(mapping.dedicatedBuffer(headerOffset, headerSizeBytes));
    const arena: OpenArena = { path, mainFd, sharedFd, mapping, header, capacity, headerOffset };

    // LLVM's initialization, kept for files that reach here with a zero bumpPtr.
    const headerEnd = BigInt(headerOffset + headerSizeBytes);
    const previous = Atomics.compareExchange(header, bumpPointerWord, 0n, headerEnd);
    if (previous !== 0n && previous < headerEnd) {
      throw new ArenaError("ERR_ARENA_CORRUPT", `${path}: bumpPtr 0x${previous.toString(16)} points into the header`, { path });
    }
    if (isNew) {
      initializeNewArena(arena);
      // What the disk holds now (onCreate may have allocated), then capacity last:
      // until capacity is set, the header reads as an unfinished creation.
      Atomics.store(header, allocatedSizeWord, BigInt(statFile(mainFd, path).allocatedBytes));
      Atomics.store(header, capacityWord, BigInt(capacity));
    } else if (main.lock === "exclusive") {
      // We may have resized or written the file: learn what the disk holds now.
      // Only an exclusive holder may write this word (LLVM's rule), since a stale
      // value from a racing opener could otherwise lower it.
      Atomics.store(header, allocatedSizeWord, BigInt(statFile(mainFd, path).allocatedBytes));
    }
    main.release();
    return arena;
  } catch (error) {
    abandonOpen({ path, mainFd, sharedFd, mapping, main, isNew });
    throw error;
  }
}

function reserveHeader(fd: number, headerEndBytes: number, path: string): void {
  const errno = reserveDisk(fd, 0, headerEndBytes);
  if (errno === 0 || isPreallocationUnsupported(errno)) return;
  const code = errnoName(errno);
  throw new ArenaError(code, `cannot reserve disk for the header of ${path}: ${code}`, { syscall: "fallocate", path, errno });
}

function openMainFile(path: string): number {
  try {
    return openFile(path, { create: true });
  } catch (error) {
    if (error instanceof ArenaError && error.code === "EISDIR") {
      // open(O_RDWR) on a directory fails before checkFileIsUsable can say so.
      throw new ArenaError("ERR_ARENA_NOT_A_FILE", `${path} is a directory`, { path });
    }
    throw error;
  }
}

/** The first bytes of a new arena: its header, marked as a creation in progress. */
function writeHeaderOfNewArena(fd: number, headerOffset: number, path: string): void {
  const bytes = new Uint8Array(headerSizeBytes);
  const words = new DataView(bytes.buffer);
  words.setBigUint64(bumpPointerWord * 8, BigInt(headerOffset + headerSizeBytes), true);
  words.setBigUint64(allocatedSizeWord * 8, creationMarker, true);
  // capacityWord stays 0 until the creation is complete.
  words.setBigUint64(headerOffsetWord * 8, BigInt(headerOffset), true);
  const written = writeAt(fd, bytes, headerOffset, path);
  if (written !== headerSizeBytes) {
    throw new ArenaError("EIO", `short write of the header of ${path} (${written} of ${headerSizeBytes} bytes)`, { syscall: "pwrite", path });
  }
}

/**
 * Empties a file whose creator died before finishing, so that this opener creates
 * it afresh; but only when the header is not a real one at another offset, and
 * only when nobody else has the file open: whoever has keeps it as it is, and we
 * refuse. The caller holds the main file's lock exclusively.
 */
function discardInterruptedCreation(mainFd: number, sharedFd: number, status: FileStatus, headerOffset: number, path: string): void {
  throwIfHeaderIsElsewhere(mainFd, status, headerOffset, path);
  const sharedPath = `${path}.shared`;
  // The close protocol's test for "last one out": alone once our own shared lock is gone.
  unlockFile(sharedFd, sharedPath);
  if (!tryLockFile(sharedFd, "exclusive", sharedPath)) {
    throw new ArenaError(
      "ERR_ARENA_CORRUPT",
      `${path}: its creator died before finishing it, and other processes have it open, so it was ` +
        `left as it is; it will be created afresh by the next open when nobody else has it open`,
      { path },
    );
  }
  truncateFile(mainFd, 0, path);
  // Back to the shared lock every opener holds. Nobody waits on the exclusive
  // one but new openers, who then block on the main file's lock, which we hold.
  unlockFile(sharedFd, sharedPath);
  lockFile(sharedFd, "shared", sharedPath);
}

/**
 * Refuses a file that is certainly not an arena before PATH.shared is created
 * beside it, so that a refused file leaves nothing behind. Under the main file's
 * shared lock nobody is creating or repairing it, so what is read is a finished
 * state; the protocol judges it again, in its place, after taking its locks.
 */
function refuseIfNotAnArena(fd: number, headerOffset: number, path: string): void {
  lockFile(fd, "shared", path);
  try {
    const status = statFile(fd, path);
    if (status.sizeBytes > 0) readAndJudgeHeader(fd, status, headerOffset, path);
  } finally {
    unlockFile(fd, path);
  }
}

function checkFileIsUsable(fd: number, path: string, allowUnsafeFileSystem: boolean): void {
  const { kind } = statFile(fd, path);
  if (kind !== "file") {
    const what = kind === "directory" ? "a directory" : "not a regular file";
    throw new ArenaError("ERR_ARENA_NOT_A_FILE", `${path} is ${what}`, { path });
  }
  if (allowUnsafeFileSystem) return;
  const unsafe = unsafeFileSystemName(fileSystemOf(fd, path));
  if (unsafe !== undefined) {
    throw new ArenaError(
      "ERR_ARENA_UNSUPPORTED_FS",
      `${path} is on ${unsafe}, where processes do not share one copy of the mapped pages, so ` +
        `concurrent allocations could overlap. Pass { allowUnsafeFileSystem: true } if only one host ` +
        `and one client ever open it.`,
      { path },
    );
  }
}

function readAndJudgeHeader(fd: number, status: FileStatus, headerOffset: number, path: string) {
  try {
    return readAndJudgeHeaderAt(fd, status, headerOffset, path);
  } catch (error) {
    if (error instanceof ArenaError && error.code === "ERR_ARENA_CORRUPT") throwIfHeaderIsElsewhere(fd, status, headerOffset, path);
    throw error;
  }
}

function readAndJudgeHeaderAt(fd: number, status: FileStatus, headerOffset: number, path: string) {
  if (status.sizeBytes < headerOffset + headerSizeBytes) {
    throw new ArenaError(
      "ERR_ARENA_CORRUPT",
      `${path} is not a valid arena: ${status.sizeBytes} bytes is too short for a header at ${headerOffset}; it was left untouched`,
      { path },
    );
  }
  const bytes = new Uint8Array(headerSizeBytes);
  const read = readAt(fd, bytes, headerOffset, path);
  if (read !== headerSizeBytes) {
    throw new ArenaError("ERR_ARENA_CORRUPT", `${path}: short read of the header (${read} bytes)`, { path });
  }
  return judgeHeader(decodeHeader(bytes), status.sizeBytes, headerOffset, path);
}

/** A valid header at another offset means the caller asked for the wrong one. */
function throwIfHeaderIsElsewhere(fd: number, status: FileStatus, headerOffset: number, path: string): void {
  const start = new Uint8Array(Math.min(status.sizeBytes, headerSearchLimitBytes));
  const read = readAt(fd, start, 0, path);
  const position = findHeader(start.subarray(0, read), status.sizeBytes, headerOffset);
  if (position === undefined) return;
  throw new ArenaError(
    "ERR_ARENA_HEADER_MISMATCH",
    `${path} has its header at offset ${position}, not at the requested ${headerOffset}; it was left untouched`,
    { path },
  );
}

/** Undoes a failed open: a file this opener was creating goes back to empty. */
function abandonOpen(state: {
  path: string;
  mainFd: number;
  sharedFd: number;
  mapping: Mapping | undefined;
  main: LockedFile;
  isNew: boolean;
}): void {
  const { path, mainFd, sharedFd, mapping, main } = state;
  const attempt = (step: () => void) => {
    try {
      step();
    } catch {
      // Already failing: the first error is the one the caller needs.
    }
  };
  if (mapping !== undefined) attempt(() => mapping.unmap());
  if (state.isNew && main.lock === "exclusive") attempt(() => truncateFile(mainFd, 0, path));
  attempt(() => main.release());
  attempt(() => closeFile(mainFd, path));
  if (sharedFd !== -1) attempt(() => closeFile(sharedFd, `${path}.shared`));
}

/**
 * Closes one opener. The last one (the only one that can lock PATH.shared
 * exclusively once its own shared lock is gone) flushes, unmaps and shrinks the
 * file to its used size, so that an idle arena takes the disk it uses and a copy
 * of it does not inflate to the capacity. Every resource is released even when a
 * step fails; the first failure is then thrown.
 */
export function closeArena(arena: OpenArena): void {
  const { path, mainFd, sharedFd, mapping, header, capacity } = arena;
  const sharedPath = `${path}.shared`;
  let firstError: unknown;
  const attempt = (step: () => void) => {
    try {
      step();
    } catch (error) {
      firstError ??= error;
    }
  };
  attempt(() => unlockFile(sharedFd, sharedPath));
  let last = false;
  attempt(() => {
    last = tryLockFile(sharedFd, "exclusive", sharedPath);
  });
  if (last) {
    // Read only now: until the exclusive lock was ours, another opener could still
    // allocate (and close) after any earlier reading. Past the capacity means full.
    const usedBytes = Math.min(Number(Atomics.load(header, bumpPointerWord)), capacity);
    attempt(() => mapping.sync());
    // Unmap before truncating: some platforms require it, and no view may outlive it.
    attempt(() => mapping.unmap());
    // Windows: skipped if another closer has not unmapped yet (see platform.ts).
    attempt(() => shrinkAfterLastClose(mainFd, usedBytes, path));
    attempt(() => unlockFile(sharedFd, sharedPath));
  } else {
    attempt(() => mapping.unmap());
  }
  attempt(() => closeFile(mainFd, path));
  attempt(() => closeFile(sharedFd, sharedPath));
  if (firstError !== undefined) throw firstError;
}
