/**
 * What this thread's open (writable) arenas already know about their files, for
 * another open of the same file (any name: keyed by device and inode) to reuse
 * instead of asking the kernel again, for as long as one of them stays open.
 *
 * Why it is sound. Every opener holds the in-use locks from before it looks at
 * the file until it has unmapped it (protocol.ts), and while any opener holds
 * them no closer is alone, so nobody truncates the file. So, while the count
 * here is above zero:
 *  - the file system is the one that was checked: an open descriptor pins it
 *    (its device number cannot be reused, even after a lazy unmount);
 *  - a live opener's header words are the file's own (a shared mapping of the
 *    same page-cache page), so reading bumpPtr through them is an atomic load:
 *    no pread, which is no atomic read, and no page fault of our own mapping;
 *  - one inode lock held by this thread says "in use" for all of them: a
 *    closer anywhere that tries it exclusively fails, whichever of our
 *    descriptors holds it. So a later opener need not take its own (two system
 *    calls), as long as the one that holds it hands it on before it closes
 *    (leaveLiveFile); and a closer that leaves others of this thread behind is
 *    not the last one, without asking the kernel.
 * When the last of them closes, the entry goes and the next open asks afresh.
 *
 * What is not lent: the proof that the used prefix is on disk (disk-proof.ts).
 * Blocks can leave a file without a truncate while it is held: a hole punched,
 * or a sparse copy written over it in place (same inode). No holder can defend
 * its own mapping against that, but a new open can find it, and each opener
 * proves the prefix itself (docs/guarantees.md), at one FIEMAP call.
 *
 * Per thread (module state): each Worker keeps its own, which is all it needs.
 * A read-only opener adds nothing: its mapping is private (a page it wrote is
 * its own copy), and it proves no reservation.
 */
import type { InUseLocks } from "./locks.ts";
import { arenaVariant } from "./broken-variants.ts";

export interface LiveFile {
  /** The file's device and inode. */
  identity: string;
  /** The in-use locks of the writable arenas of this thread that have the file open. */
  openers: InUseLocks[];
  /**
   * The paths they were opened by, each with how many of them it opened: a later
   * open by one of them may skip the inode lock. A path goes when its last opener closes.
   */
  paths: Map<string, number>;
  /** Whether an opener's fstatfs found the file system safe (not merely allowed). */
  safeFileSystem: boolean;
  /** The header words of a live opener that has made them; null when none has. */
  header: BigUint64Array | null;
  /** The offset of that header in the file: only an opener of the same header may read it. */
  headerOffset: number;
}

const liveFiles = new Map<string, LiveFile>();
/** The same entries by the paths they were opened by (a guess: the path may name another file by now). */
const livePaths = new Map<string, LiveFile>();

/** The entry for `identity`, if an arena of this thread has it open. */
export function liveFile(identity: string): LiveFile | undefined {
  return liveFiles.get(identity);
}

/**
 * The entry an arena of this thread opened by `path`, if one is open: the file
 * the path named then, which the caller must confirm by identity.
 */
export function liveFileAt(path: string): LiveFile | undefined {
  return livePaths.get(path);
}

/** Adds an opener of `identity` (holding `locks`) opened by `path`, and returns the entry. */
export function enterLiveFile(identity: string, path: string, locks: InUseLocks, safeFileSystem: boolean): LiveFile {
  let entry = liveFiles.get(identity);
  if (entry === undefined) {
    entry = { identity, openers: [], paths: new Map(), safeFileSystem: false, header: null, headerOffset: -1 };
    liveFiles.set(identity, entry);
  }
  entry.openers.push(locks);
  entry.paths.set(path, (entry.paths.get(path) ?? 0) + 1);
  livePaths.set(path, entry);
  if (safeFileSystem) entry.safeFileSystem = true;
  return entry;
}

/** Offers an opener's header words (at `headerOffset`) to the others, if none has yet. */
export function lendHeader(entry: LiveFile, header: BigUint64Array, headerOffset: number): void {
  if (entry.header !== null) return;
  entry.header = header;
  entry.headerOffset = headerOffset;
}

/**
 * A live opener's header words for an opener of the header at `headerOffset`,
 * or null: a file may hold arenas at two offsets (the bytes before a header are
 * the caller's), and one's bump pointer says nothing of the other's.
 */
export function lentHeader(entry: LiveFile | null, headerOffset: number): BigUint64Array | null {
  return entry !== null && entry.headerOffset === headerOffset ? entry.header : null;
}

/**
 * An opener is closing, before it unmaps (its header must not be lent past
 * that) and before it lets its locks go. If it held the inode lock for the
 * thread and others stay, one of them takes it first. Returns whether others
 * of this thread still have the file open: then this closer is not the last.
 */
export function leaveLiveFile(entry: LiveFile, path: string, locks: InUseLocks, header: BigUint64Array | null): boolean {
  if (header !== null && entry.header === header) {
    entry.header = null;
    entry.headerOffset = -1;
  }
  forgetPath(entry, path);
  const openers = entry.openers;
  const index = openers.indexOf(locks);
  if (index !== -1) openers.splice(index, 1);
  if (openers.length === 0) {
    if (liveFiles.get(entry.identity) === entry) liveFiles.delete(entry.identity);
    return false;
  }
  const handOn = locks.holdsInodeLock && !holdsInodeLock(entry) && arenaVariant.broken !== "no-inode-lock-handoff";
  if (handOn) openers[openers.length - 1]!.takeInodeLock();
  return true;
}

/** Whether an arena of this thread holds the inode lock of `entry`'s file. */
export function holdsInodeLock(entry: LiveFile | undefined): boolean {
  if (entry === undefined) return false;
  for (const locks of entry.openers) if (locks.holdsInodeLock) return true;
  return false;
}

/** One opener by `path` has closed: the path goes with the last of them. */
function forgetPath(entry: LiveFile, path: string): void {
  const count = entry.paths.get(path) ?? 0;
  if (count > 1) {
    entry.paths.set(path, count - 1);
    return;
  }
  entry.paths.delete(path);
  if (livePaths.get(path) === entry) livePaths.delete(path);
}
