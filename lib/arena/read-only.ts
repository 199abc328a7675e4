/**
 * Opening an existing arena read-only: a cache shipped on a read-only mount
 * (EROFS), or a file the user may only read (EACCES on a read-write open).
 *
 * The effect we want: every reader sees the arena's bytes through zero-copy views,
 * as a writer does, changes nothing on disk, costs address space and not memory,
 * and cannot be killed by anything a writer elsewhere does, nor by a write
 * through one of its own views.
 *
 * Why the obvious ways fail:
 *  - A read-write open of the file or of PATH.shared fails (EROFS, EACCES), and
 *    PATH.shared cannot be created in a read-only directory.
 *  - Touching a page past the end of the file is SIGBUS. A closed file is only as
 *    long as its bump pointer (the last closer shrank it), and a file that is
 *    full-size while writers have it open shrinks when the last of them closes.
 *  - A PROT_READ mapping turns a JavaScript write through a view into SIGSEGV; a
 *    writable private mapping is charged as committed memory for its whole length
 *    (Linux refuses one larger than RAM + swap) unless it is MAP_NORESERVE.
 *  - Mapping the file's length at open, and again when a writer grows it, gives
 *    every reader a mapping of a different length: closes could not reuse each
 *    other's address ranges (placeholder-pool.ts), and each open leaked one.
 *
 * The way chosen:
 *  - The main file is opened O_RDONLY and PATH.shared is opened O_RDONLY if it
 *    exists, never created. The reader takes the same "in use" locks as a writer,
 *    shared, for its whole life: the inode lock (an F_RDLCK open-file-description
 *    lock, which needs only read permission) and PATH.shared's flock (flock needs
 *    no write permission). A closer that finds them held is not the last one and
 *    does not shrink. The main file's flock is taken shared while opening, so a
 *    creation that holds it is waited for.
 *  - The mapping is the capacity, as a writer's (POSIX; Windows below), but
 *    MAP_PRIVATE | MAP_NORESERVE, PROT_READ | PROT_WRITE. Pages the reader only
 *    reads are the page cache's own pages, so writers' later stores are seen; a
 *    write through a view copies that one page into memory private to this
 *    process: it never reaches the file and does not crash. Placeholders are
 *    pooled by capacity with the writers' (closes reuse each other's addresses).
 *  - What the reader may touch (`visibleBytes`, the arena's readableBytes) is
 *    bounded by what no closer can cut:
 *     - Holding PATH.shared: the file's length. No LLVM closer under this name and
 *       no Bun closer under any name shrinks it while the locks are held.
 *     - Holding no PATH.shared (there was none, or it was not ours to read): the
 *       file's length, but never past the bump pointer the reader has seen.
 *       Every closer truncates to the bump pointer, and no writer lowers it below
 *       a value it held while no writer had the file open (a lowering undoes an
 *       add that started at or above it). When the bump pointer passes that
 *       bound, the reader first tries again to open PATH.shared (a writer has
 *       made one since) and take its flock without waiting; from then on it is
 *       protected as above.
 *    The view grows as the file does (extendReadOnlyView): one fstat, no mapping.
 *  - Windows cannot map a read-only file past its end, and cannot shrink a file
 *    anyone has mapped: there the mapping is the file's length, and a longer one
 *    is made when a writer grows it (the old one stays until close, so views over
 *    it stay valid).
 *  - "Only reads" must hold for the library's own loads too: Atomics.load is a
 *    write in JavaScriptCore, so every layer over a read-only arena loads the
 *    words writers store to through word-loads.ts, which never writes.
 *
 * What it gives up:
 *  - While a reader holds the file, the last writer to close does not shrink it:
 *    it stays at its capacity (sparse, so no disk) until a writer closes last.
 *  - Under vm.overcommit_memory=2 (strict), Linux ignores MAP_NORESERVE for
 *    writable private mappings: a reader is charged its capacity.
 *  - A reader without PATH.shared that saw a bump pointer a Bun writer then
 *    lowered (a block allocator returning its tail) is not protected from an
 *    LLVM closer's shrink to the lower value for the bytes in between; nor is a
 *    reader holding PATH.shared from an LLVM closer under another name (a
 *    symlink, a hard link), which ignores the inode lock as it does for writers.
 *    docs/DESIGN.md, "Read-only opens", has the reasoning in full, and the tests
 *    that prove each point.
 */
import { ArenaError } from "../common/errors.ts";
import { bumpPointerWord } from "./header.ts";
import { InUseLocks, LockedFile } from "./locks.ts";
import { Mapping } from "./mapping.ts";
import { holdLockFile, releaseLockFile } from "./own-files.ts";
import { mapOverPlaceholder } from "./placeholder-pool.ts";
import { canReplaceMappedRanges } from "./platform.ts";
import { checkFileIsUsable, checkLockFile, headerOf, openArenaFile, readAndJudgeHeader, refuseOwnLock, type OpenArena } from "./protocol.ts";
import { copyFreeWordLoads } from "./word-loads.ts";
import { closeFile, statFile, tryLockFile } from "../native/native.ts";

/** A broken variant for tests (read-only-testing.ts); null in normal use. */
export type BrokenReadOnlyOpen = "no-in-use-locks" | "no-bump-bound" | null;
export const readOnlyOpenVariant: { broken: BrokenReadOnlyOpen } = { broken: null };

export interface ReadOnlyOpenRequest {
  path: string;
  headerOffset: number;
  allowUnsafeFileSystem: boolean;
}

/** Opens the existing arena at request.path read-only; see the comment at the top. */
export function openArenaReadOnly(request: ReadOnlyOpenRequest): OpenArena {
  const { path, headerOffset } = request;
  const mainFd = openArenaFile(path, path, { create: false, readOnly: true });
  let sharedFd = -1;
  let mapping: Mapping | undefined;
  let locks: InUseLocks | undefined;
  const main = new LockedFile(mainFd, path);
  let sharedIdentity = "";
  try {
    // As for a writer (protocol.ts): a file this thread is creating or holds as a
    // lock file, or a PATH.shared that is no lock file of its own, would make us
    // wait for ourselves (or on a FIFO) forever.
    const mainIdentity = checkFileIsUsable(mainFd, path, request.allowUnsafeFileSystem);
    refuseOwnLock(mainIdentity, path, "");
    sharedFd = openSharedIfPossible(`${path}.shared`);
    if (sharedFd !== -1) {
      sharedIdentity = checkLockFile(sharedFd, mainIdentity, path);
      holdLockFile(sharedIdentity);
    }
    locks = new InUseLocks(mainFd, sharedFd, path);
    // As a writer does: the main lock shared (a creator holds it exclusively), then
    // the in-use locks (a closer that shrinks holds them exclusively), then the size.
    main.acquire("shared");
    if (readOnlyOpenVariant.broken !== "no-in-use-locks") locks.hold();
    const status = statFile(mainFd, path);
    // Not created (yet): a creator between its open and its exclusive lock, or
    // one that died. A code of its own, so that a caller (the content store
    // beside a rotating writer) can tell "not finished" from "damaged".
    if (status.sizeBytes === 0) {
      throw new ArenaError("ERR_ARENA_NOT_CREATED", `${path} is empty: no arena has been created in it yet (a writer may be creating it right now; if none is, its creation failed or never began); it was left untouched`, { path });
    }
    const verdict = readAndJudgeHeader(mainFd, status, headerOffset, path);
    if (verdict.kind !== "valid") {
      throw new ArenaError(
        "ERR_ARENA_NOT_CREATED",
        `${path}: its creation was interrupted and a read-only open cannot redo it; open it once with create()`,
        { path },
      );
    }
    const fileBytes = Math.min(status.sizeBytes, verdict.capacity);
    const mappedBytes = canReplaceMappedRanges ? verdict.capacity : fileBytes;
    mapping = new Mapping(mapOverPlaceholder(mainFd, mappedBytes, path, "private"), mappedBytes, path);
    main.release();
    // Without PATH.shared, no further than the bump pointer (from the pread the
    // header was judged by: the header page is not touched at open).
    const visibleBytes = isProtected(sharedFd) ? fileBytes : Math.min(fileBytes, verdict.usedBytes);
    // Views' buffers end there too: a copy of a view copies its whole buffer (mapping.ts).
    mapping.viewableBytes = visibleBytes;
    return {
      visibleBytes,
      path,
      mainFd,
      sharedFd,
      inUse: locks,
      mapping,
      header: null,
      identity: mainIdentity,
      live: null,
      capacity: verdict.capacity,
      headerOffset,
      reservedBytes: 0,
      sharedIdentity,
      readOnly: true,
    };
  } catch (error) {
    const attempt = (step: () => void) => {
      try {
        step();
      } catch {
        // Already failing: the first error is the one the caller needs.
      }
    };
    const mapped = mapping;
    const held = locks;
    if (mapped !== undefined) attempt(() => mapped.unmap());
    if (held !== undefined) attempt(() => held.release());
    attempt(() => main.release());
    attempt(() => closeFile(mainFd, path));
    if (sharedFd !== -1) attempt(() => closeFile(sharedFd, `${path}.shared`));
    if (sharedIdentity !== "") releaseLockFile(sharedIdentity);
    throw error;
  }
}

/**
 * How far the reader may look now (see the comment at the top): the file's
 * length, and without PATH.shared's flock never past the bump pointer. First
 * tries to take PATH.shared if the reader has none (a writer made it since).
 * Never lower than before: no closer cuts below what was allowed. On Windows,
 * maps the file again when it grew past the mapping (the old one stays until
 * close, so views over it stay valid). One fstat, and on POSIX no mapping, so
 * it cannot fail for want of memory.
 */
export function extendReadOnlyView(arena: OpenArena): number {
  if (arena.sharedFd === -1 && readOnlyOpenVariant.broken !== "no-bump-bound") holdSharedIfNowThere(arena);
  const { mainFd, path, capacity } = arena;
  const fileBytes = Math.min(statFile(mainFd, path).sizeBytes, capacity);
  const safeEnd = isProtected(arena.sharedFd) ? fileBytes : Math.min(fileBytes, bumpPointerOf(headerOf(arena)));
  const visible = Math.max(arena.visibleBytes ?? 0, safeEnd);
  if (visible > arena.mapping.lengthBytes) {
    const mapping = new Mapping(mapOverPlaceholder(mainFd, visible, path, "private"), visible, path);
    (arena.superseded ??= []).push(arena.mapping);
    arena.mapping = mapping;
  }
  arena.visibleBytes = visible;
  arena.mapping.viewableBytes = visible;
  return visible;
}

/**
 * The mapping a read-only opener's separateBuffer makes buffers over: the
 * buffers layers hand to callers. A second private mapping of the file (the
 * same length and flags as `mapping`), made on first use. Why: a write through
 * a view of a private mapping copies that page into this process for good, so
 * the page stops following the file; if callers' views and the layers' own
 * reads (slots, headers, the bump pointer) shared one mapping, one caller's
 * write would freeze those reads on that page (missed keys, a healthy file
 * called corrupt). Here a caller's write copies a page of this mapping only.
 * It costs address space, not memory (pages only read are the page cache's).
 * `fresh`: a new one, for a layer that found a page of the current one
 * written by a caller (it no longer follows the file); the old one stays, with
 * the caller's views and writes, until close. Windows (a mapping per file
 * length, no placeholders): the one mapping serves both, and a write through a
 * view still freezes that page there.
 */
export function handoutMapping(arena: OpenArena, fresh = false): Mapping {
  if (!canReplaceMappedRanges) return arena.mapping;
  if (fresh && arena.handout !== undefined) {
    (arena.superseded ??= []).push(arena.handout);
    arena.handout = undefined;
  }
  const { mainFd, path } = arena;
  const lengthBytes = arena.mapping.lengthBytes;
  return (arena.handout ??= new Mapping(mapOverPlaceholder(mainFd, lengthBytes, path, "private"), lengthBytes, path));
}

/** Whether the reader holds PATH.shared's flock (or, broken on purpose, acts as if it did). */
function isProtected(sharedFd: number): boolean {
  return sharedFd !== -1 || readOnlyOpenVariant.broken === "no-bump-bound";
}

/** The bump pointer, loaded without writing to the private page (word-loads.ts). */
function bumpPointerOf(header: BigUint64Array): number {
  return Number(copyFreeWordLoads.uint64(header, bumpPointerWord));
}

/**
 * For a reader that found no PATH.shared at open: opens it if it is there now,
 * and takes its flock shared without waiting. Anything in the way (still
 * absent, not ours to read, not a lock file, a closer holding it exclusively
 * this moment) leaves the reader as it was, to try again on a later growth.
 */
function holdSharedIfNowThere(arena: OpenArena): void {
  const sharedPath = `${arena.path}.shared`;
  let fd = -1;
  try {
    fd = openSharedIfPossible(sharedPath);
    if (fd === -1) return;
    const identity = checkLockFile(fd, arena.identity, arena.path);
    if (!tryLockFile(fd, "shared", sharedPath)) return;
    holdLockFile(identity);
    arena.sharedFd = fd;
    arena.sharedIdentity = identity;
    fd = -1;
  } catch {
    // Not usable as a lock: stay bounded by the bump pointer.
  } finally {
    if (fd !== -1) closeFile(fd, sharedPath);
  }
}

/**
 * Closes a read-only opener: unmap first (so no page of ours is mapped when a
 * writer may shrink), then let the in-use locks go. Never shrinks: it cannot
 * write, and its locks say nothing about writers. The first failure is thrown
 * after every step has been tried.
 */
export function closeArenaReadOnly(arena: OpenArena): void {
  const { path, mainFd, sharedFd, inUse, mapping } = arena;
  let firstError: unknown;
  const attempt = (step: () => void) => {
    try {
      step();
    } catch (error) {
      firstError ??= error;
    }
  };
  attempt(() => mapping.unmap());
  const handout = arena.handout;
  if (handout !== undefined) attempt(() => handout.unmap());
  for (const earlier of arena.superseded ?? []) attempt(() => earlier.unmap());
  attempt(() => inUse.release());
  attempt(() => closeFile(mainFd, path));
  if (sharedFd !== -1) attempt(() => closeFile(sharedFd, `${path}.shared`));
  if (arena.sharedIdentity !== "") releaseLockFile(arena.sharedIdentity);
  if (firstError !== undefined) throw firstError;
}

/**
 * PATH.shared opened read-only, or -1 when it is not there or not ours to read:
 * a reader never creates it (the directory may be read-only, and a read-only open
 * changes nothing on disk). Without it the reader looks no further than the bump
 * pointer (see the comment at the top).
 */
function openSharedIfPossible(sharedPath: string): number {
  try {
    return openArenaFile(sharedPath, sharedPath.slice(0, -".shared".length), { create: false, readOnly: true });
  } catch (error) {
    const absent = error instanceof ArenaError && ["ENOENT", "EACCES", "EPERM", "ELOOP", "ENOTDIR"].includes(error.code);
    if (absent) return -1;
    throw error;
  }
}
