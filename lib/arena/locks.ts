/**
 * The locks that coordinate openers of one arena file, in this process or any
 * other. See docs/DESIGN.md ("Arena locks") for the whole argument; in short:
 *
 *  - The main file's flock (LLVM's): held only while opening, shared to look,
 *    exclusive to create, resize or repair.
 *  - "In use" locks, held shared from the moment an opener looks at the file's
 *    size until it has unmapped it. Only a closer that can take both exclusively
 *    is alone, and only it may shrink the file:
 *     - PATH.shared's flock (LLVM's), which LLVM openers hold and test too. It is
 *       per name: a symlink, a hard link, a bind mount or a deleted PATH.shared
 *       gives one file several of them.
 *     - A lock on the file itself, which every name shares: an open-file-
 *       description byte-range lock (F_OFD_SETLK) on one byte far past any data.
 *       On Linux that lock space is apart from flock's, so it cannot meet LLVM's
 *       flock on the same file; and like flock it belongs to the open file, so
 *       two arenas in one process are two holders. LLVM knows nothing of it:
 *       an LLVM closer under another name can still shrink the file under us.
 *       macOS has no public OFD locks; there only PATH.shared counts.
 *
 * flock, never plain fcntl locks: fcntl locks belong to the process, so two arenas
 * in one process, or two Workers, would share one lock and each think it was alone.
 */
import {
  lockFile,
  lockRange,
  tryLockFile,
  unlockFile,
  unlockRange,
  type LockKind,
} from "../native/native.ts";

/**
 * Where the inode lock sits: one byte at 2^62, far past the largest capacity
 * (2^53), so no byte-range lock anyone takes on the arena's data can meet it.
 */
export const inodeLockByte = 2 ** 62;

/** A file descriptor with the flock lock this opener currently holds on it. */
export class LockedFile {
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

  /** Takes the lock shared if nobody holds it exclusively; false, holding nothing, if someone does. */
  tryAcquireShared(): boolean {
    if (this.lock !== null) return this.lock === "shared";
    if (!tryLockFile(this.fd, "shared", this.path)) return false;
    this.lock = "shared";
    return true;
  }
}

/**
 * The two "in use" locks of one opener: PATH.shared's flock and the inode lock on
 * the main file's descriptor. A read-only opener that could not open PATH.shared
 * passes sharedFd -1 and holds the inode lock alone (see read-only.ts).
 */
export class InUseLocks {
  #held = false;
  /**
   * Whether this opener holds the inode lock itself. An opener may go without
   * while another arena of its thread holds it for the same file (live-files.ts
   * keeps one of them holding it until the last closes).
   */
  #holdsInodeLock = false;
  /** PATH.shared, for errors. */
  readonly sharedPath: string;
  constructor(
    readonly mainFd: number,
    readonly sharedFd: number,
    readonly path: string,
    sharedPath = `${path}.shared`,
  ) {
    this.sharedPath = sharedPath;
  }

  get holdsInodeLock(): boolean {
    return this.#holdsInodeLock;
  }

  /** Takes both shared, waiting for a closer that is shrinking the file. */
  hold(): void {
    if (this.#held) return;
    if (this.sharedFd !== -1) lockFile(this.sharedFd, "shared", this.sharedPath);
    lockRange(this.mainFd, "shared", inodeLockByte, this.path, true);
    this.#held = true;
    this.#holdsInodeLock = true;
  }

  /**
   * hold() without waiting: false, holding neither, when a closer that is
   * shrinking the file (or anyone else holding one exclusively) is in the way.
   * Without the inode lock when `inodeLockHeldByThisThread`: the caller has
   * made sure that an arena of this thread holds it on this very file.
   */
  tryHold(inodeLockHeldByThisThread: boolean): boolean {
    if (this.#held) return true;
    if (this.sharedFd !== -1 && !tryLockFile(this.sharedFd, "shared", this.sharedPath)) return false;
    if (!inodeLockHeldByThisThread) {
      if (lockRange(this.mainFd, "shared", inodeLockByte, this.path, false) === "busy") {
        if (this.sharedFd !== -1) unlockFile(this.sharedFd, this.sharedPath);
        return false;
      }
      this.#holdsInodeLock = true;
    }
    this.#held = true;
    return true;
  }

  /**
   * Takes the inode lock shared on this opener's own descriptor, for an opener
   * that went without it (tryHold) and whose thread's holder is closing. It
   * cannot have to wait: only a closer alone with the file holds it
   * exclusively, and the holder still holds it shared.
   */
  takeInodeLock(): void {
    if (this.#holdsInodeLock) return;
    lockRange(this.mainFd, "shared", inodeLockByte, this.path, true);
    this.#holdsInodeLock = true;
  }

  /**
   * Drops both; an opener waiting for the main file's lock must hold neither (see
   * protocol.ts). The inode lock goes first, the reverse of hold() and of
   * tryAlone()'s order: then whoever holds the inode lock also holds its
   * PATH.shared, so two closers under one name cannot each see the other in the
   * way (one on each lock) and both skip the shrink. (Observed before: the file
   * left at full size after every process closed, in the interop race.)
   */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    if (this.#holdsInodeLock) {
      this.#holdsInodeLock = false;
      unlockRange(this.mainFd, inodeLockByte, this.path);
    }
    if (this.sharedFd !== -1) unlockFile(this.sharedFd, this.sharedPath);
  }

  /**
   * The test for "nobody else has the file open, under any name": drops our
   * shared locks and tries both exclusively, without waiting. True: we hold both
   * exclusively, and must call releaseAlone(). False: we hold neither.
   */
  tryAlone(): boolean {
    this.release();
    if (!tryLockFile(this.sharedFd, "exclusive", this.sharedPath)) return false;
    if (lockRange(this.mainFd, "exclusive", inodeLockByte, this.path, false) === "busy") {
      unlockFile(this.sharedFd, this.sharedPath);
      return false;
    }
    return true;
  }

  /** Ends tryAlone's exclusive hold. */
  releaseAlone(): void {
    unlockFile(this.sharedFd, this.sharedPath);
    unlockRange(this.mainFd, inodeLockByte, this.path);
  }
}
