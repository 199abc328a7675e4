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
 *    no pread, which is no atomic read, and no page fault of our own mapping.
 * When the last of them closes, the entry goes and the next open asks afresh.
 *
 * Per thread (module state): each Worker keeps its own, which is all it needs.
 * A read-only opener adds nothing: its mapping is private (a page it wrote is
 * its own copy), and it proves no reservation.
 */
export interface LiveFile {
  /** Writable arenas of this thread that have the file open. */
  openers: number;
  /** A prefix of the file proven (or made) reserved since the first of them opened. */
  provenBytes: number;
  /** Whether an opener's fstatfs found the file system safe (not merely allowed). */
  safeFileSystem: boolean;
  /** The header words of a live opener that has made them; null when none has. */
  header: BigUint64Array | null;
}

const liveFiles = new Map<string, LiveFile>();

/** The entry for `identity`, if an arena of this thread has it open. */
export function liveFile(identity: string): LiveFile | undefined {
  return liveFiles.get(identity);
}

/** Counts one more opener of `identity` and returns its entry. */
export function enterLiveFile(identity: string, provenBytes: number, safeFileSystem: boolean): LiveFile {
  let entry = liveFiles.get(identity);
  if (entry === undefined) {
    entry = { openers: 0, provenBytes: 0, safeFileSystem: false, header: null };
    liveFiles.set(identity, entry);
  }
  entry.openers++;
  entry.provenBytes = Math.max(entry.provenBytes, provenBytes);
  entry.safeFileSystem ||= safeFileSystem;
  return entry;
}

/** An opener is closing: before it unmaps (its header must not be lent past that). */
export function leaveLiveFile(identity: string, entry: LiveFile, header: BigUint64Array | null): void {
  if (header !== null && entry.header === header) entry.header = null;
  if (--entry.openers === 0 && liveFiles.get(identity) === entry) liveFiles.delete(identity);
}
