/**
 * Broken variants and crash points, for the store's tests only: each concurrency
 * and crash test turns one of these on in a child process to show that the test
 * catches the bug it is about. Never set them in real use.
 */
export const storeTestHooks = {
  /** put: publish the index entry first, then write the bytes (a reader or a crash sees half an object). */
  publishBeforeWrite: false,
  /** put: write the bytes even when the object is already there (each put of it stores another copy). */
  writeEvenIfPresent: false,
  /** actions.put: read, then write the value if absent, without the trie's first-insert-wins. */
  plainActionPut: false,
  /** Reads never copy an object from an older generation into the newest. */
  noCopyForward: false,
  /** Garbage collection deletes old generations without asking for their locks. */
  collectWithoutLocks: false,
  /** Garbage collection trusts the generation lock it opened: no check that the path still names it once locked, and a generation gone before its rename is an error. */
  collectorTrustsItsOpenLock: false,
  /** Called by a collector between opening a generation's lock file and locking it: a test collects there too. */
  collectorLockOpened: null as (() => void) | null,
  /** Opening does not finish a rotation its rotator died in (neither makes the next generation nor flags the one before). */
  noRotationRepair: false,
  /** A read-only store does not fall back from an unfinished newest generation: it fails, as a writer would wait. */
  noFallbackForReaders: false,
  /** put returns once the object is in the generation it started with, even two rotations behind. */
  noStoreRetry: false,
  /** Following a rotation reopens every generation instead of keeping those open it has (their views go empty at once). */
  reopenOnFollow: false,
  /** close() leaves old generations for a later rotation or gc(), even when it was the last to hold them. */
  noCollectOnClose: false,
  /** gc decides a temporary file is abandoned by the pid in its name (kill(pid, 0)), not by its lock. */
  temporariesByPid: false,
  /** The store's marker is made at its own name and then filled (not renamed into place whole): a creator killed in between leaves an empty marker. */
  markerInPlace: false,
  /** Every temporary file of this thread is named alike (as with a counter per store), and a name taken is an error, not retried. */
  temporaryNamesCollide: false,
  /**
   * Not a broken variant: the most bytes one write of a large-object file asks
   * for (large-objects.ts writeAll). Tests lower it to show that an object longer
   * than one write is written whole, without a 2 GiB buffer.
   */
  writeChunkBytes: 2 ** 30,
  /**
   * put and actions.put write the object (entry) into the primary as it is after
   * its refs (result) were copied forward, not into the generation they were
   * copied into: a rotation in between leaves a node apart from its refs.
   */
  splitFromRefs: false,
  /**
   * actions.put and actions.get's copy forward acknowledge an entry inserted into
   * a generation superseded meanwhile, without recording it in the new primary:
   * the rotator may have recorded another id there (two winners for one key).
   */
  noRecheckAfterRecord: false,
  /** Called at named points inside put (and actions.put); a test child kills itself there, or a test rotates. */
  at: null as ((point: CrashPoint) => void) | null,
};

/**
 * "file-written": a whole file (a large object, the store's marker) under its temporary name, not yet renamed;
 * "refs-present": the refs (an action's result) are in the generation the object (entry) is about to be written into.
 */
export type CrashPoint = "bytes-written" | "index-published" | "file-written" | "refs-present";

/** Turns on one broken variant in this process. */
export function useBrokenVariantForTests(name: BrokenVariant): void {
  storeTestHooks[name] = true;
}

/** Runs `scenario` with the broken variant `name` on in this process, turning it off after. */
export function withBrokenVariant<T>(name: BrokenVariant, scenario: () => T): T {
  storeTestHooks[name] = true;
  try {
    return scenario();
  } finally {
    storeTestHooks[name] = false;
  }
}

export type BrokenVariant =
  | "writeEvenIfPresent"
  | "publishBeforeWrite"
  | "plainActionPut"
  | "noCopyForward"
  | "collectWithoutLocks"
  | "collectorTrustsItsOpenLock"
  | "noRotationRepair"
  | "noStoreRetry"
  | "reopenOnFollow"
  | "noCollectOnClose"
  | "noFallbackForReaders"
  | "temporariesByPid"
  | "temporaryNamesCollide"
  | "markerInPlace"
  | "splitFromRefs"
  | "noRecheckAfterRecord";
