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
 *  - every prefix an opener proved reserved (disk-proof.ts), or reserved itself,
 *    is still reserved: blocks leave a file only by a truncate (which needs the
 *    locks we hold) or a hole punch, which the arena never makes and which no
 *    instance defends against anyway (each trusts its own proof for its life);
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
  /** The paths they were opened by: a later open by one of them may skip the inode lock. */
  paths: string[];
  /** A prefix of the file proven (or made) reserved since the first of them opened. */
  provenBytes: number;
  /** Whether an opener's fstatfs found the file system safe (not merely allowed). */
  safeFileSystem: boolean;
  /** The header words of a live opener that has made them; null when none has. */
  header: BigUint64Array | null;
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
export function enterLiveFile(identity: string, path: string, locks: InUseLocks, provenBytes: number, safeFileSystem: boolean): LiveFile {
  let entry = liveFiles.get(identity);
  if (entry === undefined) {
    entry = { identity, openers: [], paths: [], provenBytes: 0, safeFileSystem: false, header: null };
    liveFiles.set(identity, entry);
  }
  entry.openers.push(locks);
  if (!entry.paths.includes(path)) entry.paths.push(path);
  livePaths.set(path, entry);
  if (entry.provenBytes < provenBytes) entry.provenBytes = provenBytes;
  if (safeFileSystem) entry.safeFileSystem = true;
  return entry;
}

/**
 * An opener is closing, before it unmaps (its header must not be lent past
 * that) and before it lets its locks go. If it held the inode lock for the
 * thread and others stay, one of them takes it first. Returns whether others
 * of this thread still have the file open: then this closer is not the last.
 */
export function leaveLiveFile(entry: LiveFile, locks: InUseLocks, header: BigUint64Array | null): boolean {
  if (header !== null && entry.header === header) entry.header = null;
  const openers = entry.openers;
  const index = openers.indexOf(locks);
  if (index !== -1) openers.splice(index, 1);
  if (openers.length === 0) {
    if (arenaVariant.broken === "live-file-kept-after-close") return false;
    if (liveFiles.get(entry.identity) === entry) liveFiles.delete(entry.identity);
    for (const path of entry.paths) if (livePaths.get(path) === entry) livePaths.delete(path);
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
