/**
 * The arena's broken variants, for tests only (arena-testing.ts turns one on in
 * a test's child process): each undoes one protection, so that the test that
 * guards it can show its check failing without it. A test that cannot fail
 * proves nothing. Read only on slow paths (open, close, a reservation, a
 * refused allocation), never on the allocation or view fast paths.
 */
export type BrokenArenaVariant =
  /** close() drops its in-use locks before it replaces its mapping with zero pages (close-order). */
  | "in-use-locks-dropped-before-unmap"
  /** A creator stores the real allocatedSize before the capacity that ends the creation (creation-window). */
  | "allocated-size-before-capacity"
  /** The disk proof at open takes st_blocks * 512 as a reserved prefix (reservation-proof). */
  | "blocks-count-as-proof"
  /** Allocation trusts the header's allocatedSize word as reserved disk (reservation-proof). */
  | "trust-allocated-size"
  /** An arena left past its capacity reserves disk up to the capacity, not its last data (killed-overflow). */
  | "reserve-overflowed-to-capacity"
  /** A bump pointer below the first allocation, or an add that wrapped, is not refused (bump-pointer-written-while-open). */
  | "no-wrap-check"
  /** close() unmaps a viewed mapping instead of putting zero pages under it (async-reader-at-close). */
  | "no-placeholder-at-close"
  /** A closer that holds its thread's inode lock leaves without handing it to the thread's other openers (one-file-many-names). */
  | "no-inode-lock-handoff"
  /** An open beside an arena of this thread that holds the file takes the used prefix as proven, without asking the file (reservation-proof). */
  | "lent-proof"
  /** No refusal of a file this thread holds a lock on, nor of a PATH.shared that is no lock file (reentrant-create, lock-file-is-not-a-lock-file). */
  | "no-own-lock-checks"
  /** close() pools the range of a mapping one of whose buffers was transferred away, for reuse (stolen-buffer-alias). */
  | "reuse-stolen-ranges"
  /** A block allocator asks for a whole block even when it cannot fit, overflowing the bump pointer on every allocation (review4/block-allocator-near-the-end). */
  | "block-allocator-asks-past-capacity"
  /** Holders of a lock file do not mark it, so another thread's opener about to wait for it cannot tell (review4/lock-file-other-thread). */
  | "no-lock-file-marker"
  /** Views' windows reach to the end of the mapping, past what a read-only opener's file holds (views-bounded). */
  | "views-past-the-file";

export const brokenArenaVariants: readonly BrokenArenaVariant[] = [
  "in-use-locks-dropped-before-unmap",
  "allocated-size-before-capacity",
  "blocks-count-as-proof",
  "trust-allocated-size",
  "reserve-overflowed-to-capacity",
  "no-wrap-check",
  "no-placeholder-at-close",
  "no-inode-lock-handoff",
  "lent-proof",
  "no-own-lock-checks",
  "reuse-stolen-ranges",
  "block-allocator-asks-past-capacity",
  "no-lock-file-marker",
  "views-past-the-file",
];

export const arenaVariant: { broken: BrokenArenaVariant | null } = { broken: null };
