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
}

/**
 * The two "in use" locks of one opener: PATH.shared's flock and the inode lock on
 * the main file's descriptor.
 */
export class InUseLocks {
  #held = false;
  constructor(
    readonly mainFd: number,
    readonly sharedFd: number,
    readonly path: string,
  ) {}

  get sharedPath(): string {
    return `${this.path}.shared`;
  }

  /** Takes both shared, waiting for a closer that is shrinking the file. */
  hold(): void {
    if (this.#held) return;
    lockFile(this.sharedFd, "shared", this.sharedPath);
    lockRange(this.mainFd, "shared", inodeLockByte, this.path, true);
    this.#held = true;
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
    unlockRange(this.mainFd, inodeLockByte, this.path);
    unlockFile(this.sharedFd, this.sharedPath);
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
