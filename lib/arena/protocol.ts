/**
 * LLVM's open and close protocol for a MappedFileRegionArena file, step by step.
 *
 * Locks coordinate every opener, in this process or any other (locks.ts, and
 * docs/DESIGN.md ("Arena locks") for the reasoning):
 *  - PATH itself, flock, held only while opening: shared to look at the file,
 *    exclusive to create, resize or repair it, so exactly one opener does each.
 *  - Two "in use" locks, held shared from before the file's size is read until
 *    close: PATH.shared's flock (LLVM's) and a lock on the main file's own inode
 *    (ours: every name of the file shares it). The last closer is the one that
 *    can take both exclusively; only it may shrink the file, because nobody else
 *    has the file mapped, under this name or any other.
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
 *  - The in-use locks are taken after the main file's lock, and dropped while
 *    waiting for it (LLVM takes PATH.shared first and keeps it): an opener that
 *    waits holds nothing, so one that must redo an interrupted creation is not
 *    stopped by openers that merely wait for it.
 *  - The inode lock: a symlink, a hard link, a bind mount or a deleted
 *    PATH.shared can no longer make a Bun closer shrink the file under another
 *    Bun opener.
 *  - Cost: the same system calls as LLVM's open and close, and no page fault
 *    (docs/DESIGN.md, "What an open and a close cost"). The header is judged
 *    from the pread and never touched through the mapping at open; a reopen
 *    takes its locks without waiting and reads size, kind and identity in one
 *    fstat (a lock granted at once was waited for by nobody, so the identity
 *    checks may follow it); and what another arena of this thread that has the
 *    file open already holds (its disk proof, file-system check, inode lock and
 *    header) is reused, not asked of the kernel again (live-files.ts).
 */
import { ArenaError } from "../common/errors.ts";
import {
  allocatedSizeWord,
  bumpPointerWord,
  capacityWord,
  creationMarker,
  decodeHeader,
  fullSizeBytes,
  headerOffsetWord,
  headerSizeBytes,
  judgeHeader,
  settleAtMost,
  throwIfHeaderIsElsewhere as throwIfHeaderIsElsewhereIn,
  type HeaderVerdict,
} from "./header.ts";
import { unsafeFileSystemName } from "./filesystem.ts";
import { InUseLocks, LockedFile } from "./locks.ts";
import { Mapping } from "./mapping.ts";
import { shrinkAfterLastClose } from "./platform.ts";
import { mapOverPlaceholder } from "./placeholder-pool.ts";
import { provenPrefixBytes, reserveHandedOutBytes, reserveRange } from "./disk-proof.ts";
import {
  holdLockFile,
  isBeingCreated,
  isHeldAsLockFile,
  isMarkedAsLockFile,
  markAsLockFile,
  releaseLockFile,
  whileCreating,
} from "./own-files.ts";
import {
  closeFile,
  fileSystemOf,
  lockFile,
  openExistingFile,
  openFile,
  readAt,
  statFile,
  truncateFile,
  unlockFile,
  writeAt,
  type FileKind,
  type FileStatus,
} from "../native/native.ts";
import { arenaVariant } from "./broken-variants.ts";
import { enterLiveFile, holdsInodeLock, leaveLiveFile, lendHeader, liveFile, liveFileAt, type LiveFile } from "./live-files.ts";

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
  /** PATH.shared's flock and the inode lock, held shared until close. */
  inUse: InUseLocks;
  mapping: Mapping;
  /** The four header words, over the mapping; unsigned, as on disk. Made on first use (headerOf). */
  header: BigUint64Array | null;
  /** The main file's device and inode. */
  identity: string;
  /** What this thread's arenas share about the file (live-files.ts); null for a read-only opener. */
  live: LiveFile | null;
  capacity: number;
  headerOffset: number;
  /**
   * The prefix of the file this opener proved reserved at open (disk-proof.ts).
   * Each instance allocates from its own figure, never from the shared word.
   * 0 for a read-only opener, which never allocates.
   */
  reservedBytes: number;
  /**
   * PATH.shared's device and inode, registered in own-files.ts until close; ""
   * for a read-only opener that found no PATH.shared it could open.
   */
  sharedIdentity: string;
  /** Set by openArenaReadOnly (read-only.ts): a private mapping, of which only `visibleBytes` may be touched. */
  readOnly?: true;
  /** A read-only opener's bound on what it may touch (read-only.ts): it only grows. */
  visibleBytes?: number;
  /**
   * A read-only opener's earlier mappings, kept (views over them live) until
   * close: on Windows, shorter ones; on POSIX, handout mappings a caller wrote to.
   */
  superseded?: Mapping[];
  /** POSIX: a read-only opener's second private mapping, for separateBuffer's buffers (read-only.ts handoutMapping). */
  handout?: Mapping;
}

/**
 * The reopen's locks without waiting. A lock the system refuses outright (not
 * "busy": Windows gives EBADF for the NUL device, whose every name, NUL.shared
 * too, is the device) sends the open the careful way, which judges the file's
 * kind before any lock and names what it is.
 */
function tryFastLocks(main: LockedFile, locks: InUseLocks, inodeLockHeld: boolean): boolean {
  try {
    return main.tryAcquireShared() && locks.tryHold(inodeLockHeld);
  } catch {
    return false;
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
  const sharedPath = lockFilePathOf(path);
  const mainFd = openMainFile(path);
  let sharedFd = -1;
  let mapping: Mapping | undefined;
  let isNew = false;
  /** The size of an existing file this open grew to its capacity: a failed open shrinks it back. */
  let grewFromBytes: number | undefined;
  const main = new LockedFile(mainFd, path);
  let locks: InUseLocks | undefined;
  let sharedIdentity: string | undefined;
  try {
    // Look at the file under the main lock, shared first; exclusive when it must
    // be created, grown or repaired, which needs one opener alone. The in-use
    // locks are taken after the main lock and before the size is read (a closer
    // that shrinks holds them exclusively, so the size we read stays), and are
    // dropped while we wait for the main lock: an opener blocked there holds
    // nothing, so whoever redoes an interrupted creation can tell openers that
    // have the file mapped from openers that merely wait (issue 8 item 5).
    let status: FileStatus | undefined;
    sharedFd = openArenaFile(sharedPath, path, openExisting);
    if (sharedFd !== -1) {
      // Every reopen: the three locks without waiting, then one fstat for the
      // size, the kind and the identity. Waiting for a lock our own thread holds
      // would be forever, which is why the careful way below checks the identity
      // first; but a lock that is granted at once was waited for by nobody, and
      // the identity checks then follow before anything waits (the exclusive
      // main lock below) or is written. (A FIFO or device here was opened
      // non-blocking and is refused by its kind before it is read.) The inode
      // lock is skipped when an arena of this thread opened by this path holds
      // it (live-files.ts); the fstat confirms that the path still names that
      // file, or we start again the careful way. Any lock refused: the same.
      locks = new InUseLocks(mainFd, sharedFd, path, sharedPath);
      const earlier = liveFileAt(path);
      const inodeLockHeld = holdsInodeLock(earlier);
      if (tryFastLocks(main, locks, inodeLockHeld)) {
        status = statFile(mainFd, path, true);
        if (inodeLockHeld && status.identity !== earlier!.identity) status = undefined;
        else checkFileKind(status.kind, path);
      }
      if (status === undefined) {
        locks.release();
        main.release();
      }
    }
    let mainIdentity: string;
    let fileSystemCheckedSafe: boolean;
    if (status !== undefined) {
      mainIdentity = status.identity;
      refuseOwnLock(mainIdentity, path, "");
      fileSystemCheckedSafe = checkFileSystem(mainFd, path, request.allowUnsafeFileSystem, mainIdentity);
      sharedIdentity = checkLockFile(sharedFd, mainIdentity, path);
      holdLockFile(sharedIdentity);
    } else {
      // The careful way: the main file is checked first, so that a path that
      // cannot be an arena (a directory, a device, an unsafe file system) is
      // refused before a .shared companion is created beside it, and before any
      // lock that could be our own is waited for.
      const { kind, identity } = statFile(mainFd, path, true);
      checkFileKind(kind, path);
      mainIdentity = identity;
      fileSystemCheckedSafe = checkFileSystem(mainFd, path, request.allowUnsafeFileSystem, mainIdentity);
      refuseOwnLock(mainIdentity, path, "");
      if (sharedFd === -1) {
        refuseIfNotAnArena(mainFd, headerOffset, path);
        sharedFd = openArenaFile(sharedPath, path, openOrCreate);
        locks = new InUseLocks(mainFd, sharedFd, path, sharedPath);
      }
      sharedIdentity = checkLockFile(sharedFd, mainIdentity, path);
      holdLockFile(sharedIdentity);
      main.acquire("shared");
      locks!.hold();
      status = statFile(mainFd, path);
    }
    const inUse = locks!;

    let capacity = request.capacity;
    let verdict: HeaderVerdict | undefined;
    for (;;) {
      isNew = status.sizeBytes === 0;
      verdict = isNew ? undefined : readAndJudgeHeader(mainFd, status, headerOffset, path);
      capacity = verdict?.kind === "valid" ? verdict.capacity : request.capacity;
      const mustBeAlone = verdict?.kind !== "valid" || status.sizeBytes < capacity;
      if (!mustBeAlone || main.lock === "exclusive") break;
      inUse.release();
      refuseLockFileOfAnotherThread(mainFd, path);
      main.acquire("exclusive");
      inUse.hold();
      status = statFile(mainFd, path);
    }
    if (verdict?.kind === "creation-interrupted") {
      discardInterruptedCreation(mainFd, inUse, status, headerOffset, path);
      isNew = true;
      status = { ...status, sizeBytes: 0 };
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
      // rather than SIGBUS. The loop above took the exclusive lock for this.
      truncateFile(mainFd, capacity, path);
      if (!isNew) grewFromBytes = status.sizeBytes;
    }
    // What this opener proves reserved: allocations below it need no fallocate.
    // Proven by every opener, even beside an arena of this thread that proved it
    // before: blocks can leave a held file (live-files.ts says how).
    let reservedBytes = 0;
    if (verdict?.kind === "valid") {
      reservedBytes = arenaVariant.broken === "lent-proof" && liveFile(mainIdentity) !== undefined
        ? verdict.usedBytes
        : reserveHandedOutBytes(mainFd, verdict, path);
    }
    if (isNew) {
      // onCreate may write the caller's bytes before the header through the mapping,
      // before any allocation reserves disk: on a full disk that write into a sparse
      // hole would be SIGBUS. Reserve them now: a full disk is an ENOSPC from create.
      reservedBytes = headerOffset + headerSizeBytes;
      reserveRange(mainFd, 0, reservedBytes, "the header", path);
    }

    mapping = new Mapping(mapOverPlaceholder(mainFd, capacity, path), capacity, path);
    const arena: OpenArena = {
      path,
      mainFd,
      sharedFd,
      inUse,
      mapping,
      header: null,
      capacity,
      headerOffset,
      sharedIdentity,
      identity: mainIdentity,
      live: null,
      reservedBytes: Math.min(reservedBytes, capacity),
    };
    // LLVM sets a zero bumpPtr here with a compare-and-swap; we need not: a new
    // file's header was written by pwrite above, and an existing one passed
    // judgeHeader, the one judge of headers (inspect and verify use it too). Not
    // doing it also keeps an open from touching the mapping: a fault on the
    // header page, and the unmapping of it at close, cost more than all of
    // LLVM's system calls together (~10 of ~20 us).
    if (isNew) {
      const header = headerOf(arena);
      whileCreating(mainIdentity, () => initializeNewArena(arena));
      // Capacity first: it is what ends the creation (until it is set, the header
      // reads as an unfinished creation, which the next opener redoes). Then the
      // real allocatedSize replaces the marker. A creator killed between the two
      // leaves a valid header whose word still holds the marker: harmless, since
      // the word is only a hint that every opener lowers to what it can prove.
      // (The other order left capacity 0 without the marker: refused forever.)
      const allocatedSize = BigInt(Math.min(provenPrefixBytes(mainFd, path), capacity));
      if (arenaVariant.broken === "allocated-size-before-capacity") Atomics.store(header, allocatedSizeWord, allocatedSize);
      Atomics.store(header, capacityWord, BigInt(capacity));
      Atomics.store(header, allocatedSizeWord, allocatedSize);
    } else {
      // The word is only what its last writer claimed (see disk-proof.ts). We never
      // trust it (each instance allocates from what it proved itself), but LLVM
      // openers do: lower it to what we proved, so that they reserve what is
      // missing (a lowered word costs only a redundant fallocate later). Setting
      // it is LLVM's rule for an exclusive holder, which we keep. Decided on the
      // word as read with pread under the main lock, so the mapping is written
      // (its header page faulted in) only when the word must change: nobody can
      // have raised it past our proof since without reserving first (LLVM's
      // blind store of st_blksize * 512 needs the main lock exclusively).
      const provenBytes = BigInt(arena.reservedBytes);
      const stored = verdict!.kind === "valid" ? verdict!.allocatedSize : undefined;
      if (main.lock === "exclusive") {
        if (stored !== provenBytes) Atomics.store(headerOf(arena), allocatedSizeWord, provenBytes);
      } else if (stored === undefined || stored > provenBytes) settleAtMost(headerOf(arena), allocatedSizeWord, provenBytes);
    }
    main.release();
    arena.live = enterLiveFile(mainIdentity, path, inUse, fileSystemCheckedSafe);
    if (arena.header !== null) lendHeader(arena.live, arena.header, headerOffset);
    return arena;
  } catch (error) {
    abandonOpen({ path, mainFd, sharedFd, mapping, main, isNew, locks, grewFromBytes });
    if (sharedIdentity !== undefined) releaseLockFile(sharedIdentity);
    throw error;
  }
}

/**
 * The header words over the mapping, made on first use: an open and close that
 * never allocates makes no buffer over the mapping at all.
 */
export function headerOf(arena: OpenArena): BigUint64Array {
  let header = arena.header;
  if (header === null) {
    header = new BigUint64Array(arena.mapping.dedicatedBuffer(arena.headerOffset, headerSizeBytes));
    arena.header = header;
    if (arena.live !== null) lendHeader(arena.live, header, arena.headerOffset);
  }
  return header;
}

/** PATH.shared for the last few paths: the same string each time, whose hash (native.ts's cache of encoded paths) is made once. */
const lockFilePaths = new Map<string, string>();
function lockFilePathOf(path: string): string {
  let sharedPath = lockFilePaths.get(path);
  if (sharedPath === undefined) {
    sharedPath = `${path}.shared`;
    if (lockFilePaths.size >= 8) lockFilePaths.clear();
    lockFilePaths.set(path, sharedPath);
  }
  return sharedPath;
}

function openMainFile(path: string): number {
  return openArenaFile(path, path, openOrCreate);
}

const openOrCreate = { create: true };
const openExisting = { create: false, openExisting: true };

/**
 * open(2) of `filePath` (the arena at `path`, or its PATH.shared) for the
 * protocol, with `openExisting`'s "-1 when absent" if asked. A path that is not
 * a regular file is ERR_ARENA_NOT_A_FILE whatever its kind, but two kinds fail
 * in open(2) itself, before fstat can name them: a directory opened for writing
 * (EISDIR) and a Unix socket (ENXIO, which a regular file never gives).
 */
export function openArenaFile(filePath: string, path: string, options: { create: boolean; readOnly?: boolean; openExisting?: boolean }): number {
  try {
    return options.openExisting === true ? openExistingFile(filePath) : openFile(filePath, options);
  } catch (error) {
    if (!(error instanceof ArenaError && (error.code === "EISDIR" || error.code === "ENXIO"))) throw error;
    const what = error.code === "EISDIR" ? "a directory" : "not a regular file (a socket?)";
    const role = filePath === path ? "" : ", so it cannot be the arena's lock file";
    throw new ArenaError("ERR_ARENA_NOT_A_FILE", `${filePath} is ${what}${role}`, { path });
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
function discardInterruptedCreation(mainFd: number, locks: InUseLocks, status: FileStatus, headerOffset: number, path: string): void {
  throwIfHeaderIsElsewhere(mainFd, status, headerOffset, path);
  // The close protocol's test for "last one out". Openers waiting for the main
  // lock hold no in-use lock, so only openers that have the file (LLVM's, or
  // ours under any name) make it fail; and, for an instant, `inspect` or
  // `verify` probing PATH.shared (flock has no test that takes nothing), which
  // is why a failure is retried a few times before it is believed.
  if (!tryAloneWithRetries(locks)) {
    locks.hold();
    throw new ArenaError(
      "ERR_ARENA_CORRUPT",
      `${path}: its creator died before finishing it, and other processes have it open, so it was ` +
        `left as it is; it will be created afresh by the next open when nobody else has it open`,
      { path },
    );
  }
  try {
    truncateFile(mainFd, 0, path);
  } finally {
    // Back to the shared locks every opener holds. Nobody waits on the exclusive
    // ones but closers' probes and new openers, who then block on the main
    // file's lock, which we hold.
    locks.releaseAlone();
    locks.hold();
  }
}

/** How often, and after how long (doubling), a failed tryAlone is retried before it is believed. */
const aloneRetries = 5;
const firstAloneRetryMs = 1;

function tryAloneWithRetries(locks: InUseLocks): boolean {
  for (let attempt = 0, waitMs = firstAloneRetryMs; ; attempt++, waitMs *= 2) {
    if (locks.tryAlone()) return true;
    if (attempt === aloneRetries) return false;
    Bun.sleepSync(waitMs);
  }
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

/**
 * A file this thread holds a lock on cannot be opened here without waiting for
 * itself forever (see own-files.ts); `suffix` names which of the arena's files.
 */
export function refuseOwnLock(identity: string, path: string, suffix: string): void {
  if (arenaVariant.broken === "no-own-lock-checks") return;
  if (isBeingCreated(identity)) {
    throw new ArenaError(
      "ERR_ARENA_CREATING",
      `${path}${suffix} is being created by this thread (create() was called inside onCreate); ` +
        `use the arena onCreate was given`,
      { path },
    );
  }
  if (suffix === "" && isHeldAsLockFile(identity)) {
    throw new ArenaError(
      "ERR_ARENA_NOT_A_FILE",
      `${path} is the lock file (.shared) of an arena this process has open, not an arena`,
      { path },
    );
  }
}

/**
 * PATH.shared must be a lock file of its own: a regular file (opened without
 * waiting, so a FIFO or a device there is refused, not waited on) that is not
 * the arena itself (a symlink or hard link to PATH would make the opener wait
 * for its own lock) nor a file this thread is creating. Marks it as a lock file
 * for other threads (own-files.ts). Returns its identity.
 */
export function checkLockFile(sharedFd: number, mainIdentity: string, path: string): string {
  const { kind, identity } = statFile(sharedFd, `${path}.shared`, true);
  if (arenaVariant.broken === "no-own-lock-checks") return identity;
  if (kind !== "file") {
    throw new ArenaError("ERR_ARENA_NOT_A_FILE", `${path}.shared is not a regular file, so it cannot be the arena's lock file`, { path });
  }
  if (identity === mainIdentity) {
    throw new ArenaError("ERR_ARENA_NOT_A_FILE", `${path}.shared is the arena file itself (a link to ${path}), not a lock file`, { path });
  }
  refuseOwnLock(identity, path, ".shared");
  if (arenaVariant.broken !== "no-lock-file-marker") markAsLockFile(sharedFd, path);
  return identity;
}

/**
 * Before an opener waits for the main lock exclusively: a file that an arena of
 * any thread (or process) holds as its lock file would keep it waiting for as
 * long as that arena stays open, for ever if it is one of this process's, and
 * once free would be made into an arena under the other arena's feet.
 */
function refuseLockFileOfAnotherThread(mainFd: number, path: string): void {
  if (!isMarkedAsLockFile(mainFd, path)) return;
  throw new ArenaError(
    "ERR_ARENA_NOT_A_FILE",
    `${path} is the lock file (.shared) of an arena open in this or another thread or process, not an arena`,
    { path },
  );
}

/** Refuses what cannot hold an arena; returns the file's identity (device and inode). */
export function checkFileIsUsable(fd: number, path: string, allowUnsafeFileSystem: boolean): string {
  const { kind, identity } = statFile(fd, path, true);
  checkFileKind(kind, path);
  checkFileSystem(fd, path, allowUnsafeFileSystem, identity);
  return identity;
}

function checkFileKind(kind: FileKind, path: string): void {
  if (kind === "file") return;
  const what = kind === "directory" ? "a directory" : "not a regular file";
  throw new ArenaError("ERR_ARENA_NOT_A_FILE", `${path} is ${what}`, { path });
}

/**
 * Refuses a network or FUSE file system unless allowed. Returns whether the file
 * system is known safe: by fstatfs, or because an arena of this thread has the
 * file open and found it safe (live-files.ts: the descriptor pins the mount).
 */
function checkFileSystem(fd: number, path: string, allowUnsafeFileSystem: boolean, identity: string): boolean {
  if (liveFile(identity)?.safeFileSystem === true) return true;
  if (allowUnsafeFileSystem) return false;
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
  return true;
}

export function readAndJudgeHeader(fd: number, status: FileStatus, headerOffset: number, path: string) {
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
  const bytes = headerReadBytes;
  const read = readAt(fd, bytes, headerOffset, path);
  if (read !== headerSizeBytes) {
    throw new ArenaError("ERR_ARENA_CORRUPT", `${path}: short read of the header (${read} bytes)`, { path });
  }
  return judgeHeader(decodeHeader(bytes, headerReadView), status.sizeBytes, headerOffset, path);
}

/** readAndJudgeHeaderAt's pread target, reused: decoded before anything else can read into it. */
const headerReadBytes = new Uint8Array(headerSizeBytes);
const headerReadView = new DataView(headerReadBytes.buffer);

/** A valid header at another offset means the caller asked for the wrong one. */
function throwIfHeaderIsElsewhere(fd: number, status: FileStatus, headerOffset: number, path: string): void {
  throwIfHeaderIsElsewhereIn((into, offset) => readAt(fd, into, offset, path), status.sizeBytes, headerOffset, path);
}

/**
 * Undoes a failed open: a file this opener was creating goes back to empty, and
 * an existing file it grew to its capacity (then failed to map) goes back to the
 * size it had, so that a failed open leaves the file as it found it. The shrink
 * needs what a last close needs: nobody else may have the file mapped (the
 * in-use locks, taken exclusively); otherwise the file stays grown, and the last
 * closer shrinks it.
 */
function abandonOpen(state: {
  path: string;
  mainFd: number;
  sharedFd: number;
  mapping: Mapping | undefined;
  main: LockedFile;
  isNew: boolean;
  locks: InUseLocks | undefined;
  grewFromBytes: number | undefined;
}): void {
  const { path, mainFd, sharedFd, mapping, main, locks, grewFromBytes } = state;
  const attempt = (step: () => void) => {
    try {
      step();
    } catch {
      // Already failing: the first error is the one the caller needs.
    }
  };
  if (mapping !== undefined) attempt(() => mapping.unmap());
  if (state.isNew && main.lock === "exclusive") attempt(() => truncateFile(mainFd, 0, path));
  else if (grewFromBytes !== undefined && main.lock === "exclusive" && locks !== undefined) {
    attempt(() => {
      if (!locks.tryAlone()) return;
      try {
        truncateFile(mainFd, grewFromBytes, path);
      } finally {
        locks.releaseAlone();
      }
    });
  }
  attempt(() => main.release());
  attempt(() => closeFile(mainFd, path));
  if (sharedFd !== -1) attempt(() => closeFile(sharedFd, `${path}.shared`));
}

/**
 * Closes one opener. The last one (the only one that can lock both in-use locks
 * exclusively once its own shared holds are gone) shrinks the file to its used
 * size, so that an idle arena takes the disk it uses and a copy of it does not
 * inflate to the capacity. Every resource is released even when a step fails;
 * the first failure is then thrown.
 *
 * The order matters. Our mapping is replaced with placeholder pages first, while
 * we still hold the in-use locks: the moment we drop them, another process's
 * close may be the last and shrink the file, and a buffer of ours that we could
 * not detach (taken by a transfer, or read by a native thread) must by then no
 * longer be over the file, or touching it past the new end is SIGBUS. If the
 * placeholder cannot be placed, the locks and the descriptors that hold them are
 * kept until the process exits: nobody may shrink the file under us.
 */
export function closeArena(arena: OpenArena): void {
  const { path, mainFd, sharedFd, inUse: locks, mapping, capacity, headerOffset } = arena;
  // Before the unmap detaches our header (nobody may read through it after),
  // and while we hold our locks (if ours is this thread's inode lock, another
  // arena of the thread takes its own first).
  const othersOfThisThreadStay = arena.live !== null && leaveLiveFile(arena.live, path, locks, arena.header);
  let lastBeforeUnmap = false;
  if (arenaVariant.broken === "in-use-locks-dropped-before-unmap") lastBeforeUnmap = locks.tryAlone();
  mapping.unmap();
  // Each step is tried whatever the ones before did; the first failure is thrown
  // at the end. (Plain try blocks: a closure per step costs more than the step.)
  let firstError: unknown;
  // Alone only if no opener holds PATH.shared (LLVM's test) nor the inode lock
  // (ours, for every name of the file: a symlink, a hard link, a bind mount or a
  // deleted PATH.shared must not let us shrink the file under a process that
  // maps it, which would die of SIGBUS on its next write). While another arena
  // of this thread has the file mapped, we are not the last: no need to ask.
  let last = lastBeforeUnmap;
  try {
    if (arenaVariant.broken === "in-use-locks-dropped-before-unmap") {
      // (tried above, before the unmap)
    } else if (othersOfThisThreadStay) locks.release();
    else last = locks.tryAlone();
  } catch (error) {
    firstError ??= error;
  }
  if (last) {
    try {
      // Windows: the shrink is skipped if another closer has not unmapped yet (see platform.ts).
      shrinkAfterLastClose(mainFd, settleBumpPointer(mainFd, headerOffset, capacity, path), path);
    } catch (error) {
      firstError ??= error;
    }
    try {
      locks.releaseAlone();
    } catch (error) {
      firstError ??= error;
    }
  }
  try {
    closeFile(mainFd, path);
  } catch (error) {
    firstError ??= error;
  }
  try {
    closeFile(sharedFd, locks.sharedPath);
  } catch (error) {
    firstError ??= error;
  }
  releaseLockFile(arena.sharedIdentity);
  if (firstError !== undefined) throw firstError;
}

/**
 * For the last closer, alone with the file: reads the bump pointer (with pread:
 * our mapping is gone, and nobody else can move it now) and returns the size to
 * shrink to. Past the capacity means full; alone, we can say so exactly (the word
 * can be left past the capacity by an overflowing allocation that was killed
 * before it backed out). A word below the header's end (a foreign write) never
 * shrinks the file into the header.
 */
function settleBumpPointer(fd: number, headerOffset: number, capacity: number, path: string): number {
  const word = new Uint8Array(8);
  if (readAt(fd, word, headerOffset, path) !== word.length) return capacity;
  const bumpPtr = new DataView(word.buffer).getBigUint64(0, true);
  // Full is the capacity rounded down to 8: the word must stay aligned, or every
  // later open refuses the file as corrupt (capacity 4100 would store 4100).
  const fullSize = fullSizeBytes(capacity);
  if (bumpPtr > BigInt(fullSize)) {
    new DataView(word.buffer).setBigUint64(0, BigInt(fullSize), true);
    writeAt(fd, word, headerOffset, path);
  }
  return Math.max(Math.min(Number(bumpPtr), fullSize), headerOffset + headerSizeBytes);
}
