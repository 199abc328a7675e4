/**
 * Opening an existing arena read-only: a cache shipped on a read-only mount
 * (EROFS), or a file the user may only read (EACCES on a read-write open).
 *
 * The effect we want: every reader sees the arena's bytes through zero-copy views,
 * as a writer does, changes nothing on disk, and cannot be killed by anything a
 * writer elsewhere does, nor by a write through one of its own views.
 *
 * Why the obvious ways fail:
 *  - A read-write open of the file or of PATH.shared fails (EROFS, EACCES), and
 *    PATH.shared cannot be created in a read-only directory.
 *  - Mapping the whole capacity, as a writer does, maps pages past the end of a
 *    closed file (the last closer shrank it to the bump pointer): reading one is
 *    SIGBUS. And a file that is full-size while writers have it open shrinks when
 *    the last of them closes: any page of ours past the new end is then SIGBUS.
 *    The bump pointer cannot bound what is safe: it goes down as well as up (a
 *    block allocator gives back its tail, a failed reservation or a full arena
 *    undoes its add), so the shrink can cut below a value a reader once saw.
 *  - A PROT_READ mapping turns a JavaScript write through a view into SIGSEGV.
 *
 * The way chosen:
 *  - The main file is opened O_RDONLY and PATH.shared is opened O_RDONLY if it
 *    exists, never created. The reader takes the same "in use" locks as a writer,
 *    shared, for its whole life: the inode lock (an F_RDLCK open-file-description
 *    lock, which needs only read permission) and PATH.shared's flock when it could
 *    open it (flock needs no write permission). A closer that finds them held is
 *    not the last one and does not shrink: no Bun writer, under any name of the
 *    file, and no LLVM writer under this name when PATH.shared exists, can cut
 *    the file under a reader. The main file's flock is taken shared while opening,
 *    so a creation in progress is waited for, never seen half done.
 *  - The mapping is the file's length at open (capped at the capacity), not the
 *    capacity: every page of it lies inside the file, and with the locks held the
 *    file does not get shorter. Views, the header and `size` stay inside it.
 *  - When the bump pointer (read live through the header) passes the end of the
 *    mapping, a writer has grown the file since: the reader maps the file again
 *    at its new length (extendReadOnlyMapping). The old mapping is not unmapped,
 *    so every view handed out stays valid; it goes at close. A file grows only
 *    from its closed length to its capacity (a writer's open), so this happens
 *    at most about once per reader.
 *  - The mapping is MAP_PRIVATE and PROT_READ|PROT_WRITE. Pages the reader only
 *    reads are the page cache's own pages (Linux maps them until the first write),
 *    so writers' later stores to them are seen; a write through a view copies that
 *    one page into memory private to this process: it never reaches the file,
 *    does not crash, and is lost at close (that page stops seeing writers' stores).
 *    "Only reads" must hold for the library's own loads too: Atomics.load is a
 *    write in JavaScriptCore, so every layer over a read-only arena loads the
 *    words writers store to through word-loads.ts, which never writes.
 *
 * What it gives up:
 *  - Address space: a reader that was opened on a closed file and then saw it
 *    grow holds two mappings (the first one's length plus the capacity) until close.
 *  - While a reader holds the file, the last writer to close does not shrink it:
 *    it stays at its capacity (sparse, so no disk) until a writer closes last.
 *  - Where there are no open-file-description locks (macOS, Linux before 3.15) a
 *    reader is protected only by PATH.shared, as in LLVM: if it could not open
 *    one, a writer arriving later can shrink the file under it. LLVM closers
 *    under another name (a symlink, a hard link) ignore the inode lock, as they do
 *    for writers (docs/DESIGN.md, "Arena locks"). docs/DESIGN.md, "Read-only
 *    opens", has the reasoning in full, and the tests that prove each point.
 */
import { ArenaError } from "../common/errors.ts";
import { InUseLocks, LockedFile } from "./locks.ts";
import { Mapping } from "./mapping.ts";
import { holdLockFile, releaseLockFile } from "./own-files.ts";
import { mapOverPlaceholder } from "./placeholder-pool.ts";
import { checkFileIsUsable, checkLockFile, readAndJudgeHeader, refuseOwnLock, type OpenArena } from "./protocol.ts";
import { closeFile, openFile, statFile } from "../native/native.ts";

/** A broken variant for tests (read-only-testing.ts); null in normal use. */
export type BrokenReadOnlyOpen = "no-in-use-locks" | null;
export const readOnlyOpenVariant: { broken: BrokenReadOnlyOpen } = { broken: null };

export interface ReadOnlyOpenRequest {
  path: string;
  headerOffset: number;
  allowUnsafeFileSystem: boolean;
}

/** Opens the existing arena at request.path read-only; see the comment at the top. */
export function openArenaReadOnly(request: ReadOnlyOpenRequest): OpenArena {
  const { path, headerOffset } = request;
  const mainFd = openFile(path, { create: false, readOnly: true });
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
    if (status.sizeBytes === 0) {
      throw new ArenaError("ERR_ARENA_CORRUPT", `${path} is empty: no arena was ever created in it; it was left untouched`, { path });
    }
    const verdict = readAndJudgeHeader(mainFd, status, headerOffset, path);
    if (verdict.kind !== "valid") {
      throw new ArenaError(
        "ERR_ARENA_CORRUPT",
        `${path}: its creation was interrupted and a read-only open cannot redo it; open it once with create()`,
        { path },
      );
    }
    const mappedBytes = Math.min(status.sizeBytes, verdict.capacity);
    mapping = new Mapping(mapOverPlaceholder(mainFd, mappedBytes, path, "private"), mappedBytes, path);
    main.release();
    return {
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
 * Maps the file again when it has grown past the current mapping (a writer
 * opened it): safe while the in-use locks are held, since then nobody shrinks
 * it. The old mapping stays until close, so views over it stay valid. Returns
 * whether the mapping grew.
 */
export function extendReadOnlyMapping(arena: OpenArena): boolean {
  const { mainFd, path, capacity } = arena;
  const fileBytes = Math.min(statFile(mainFd, path).sizeBytes, capacity);
  if (fileBytes <= arena.mapping.lengthBytes) return false;
  const mapping = new Mapping(mapOverPlaceholder(mainFd, fileBytes, path, "private"), fileBytes, path);
  (arena.superseded ??= []).push(arena.mapping);
  arena.mapping = mapping;
  return true;
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
 * changes nothing on disk). Without it the inode lock alone protects the reader.
 */
function openSharedIfPossible(sharedPath: string): number {
  try {
    return openFile(sharedPath, { create: false, readOnly: true });
  } catch (error) {
    const absent = error instanceof ArenaError && ["ENOENT", "EACCES", "EPERM", "ELOOP", "ENOTDIR"].includes(error.code);
    if (absent) return -1;
    throw error;
  }
}
