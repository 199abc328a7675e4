/**
 * The files this thread itself holds locks on, by identity (device and inode),
 * so that an open that would wait for one of its own locks is refused instead.
 *
 * flock locks belong to an open file description, so two descriptors of one
 * file in one process conflict like two processes do. An opener waits for a
 * conflicting lock; when the holder is this very thread (inside onCreate, or an
 * arena whose PATH.shared is itself an arena this thread has open), nobody will
 * ever release it: a deadlock, not a wait. Other threads and processes can
 * release theirs, so only this thread's own locks are tracked (a module's
 * state is per thread: each Worker has its own).
 *
 *  - Files being created: their main lock is held exclusively while onCreate
 *    runs. Opening one again (under any name) inside onCreate:
 *    ERR_ARENA_CREATING, like close() there.
 *  - Lock files (PATH.shared) of open arenas: held shared until close. Creating
 *    an arena in one would wait for them forever.
 *
 * Other threads of the process cannot see this module's state (each Worker has
 * its own), and a Worker that waits for a lock its process holds waits as long
 * as the holder keeps the arena open, maybe for ever. Threads share no memory
 * we could keep a registry in without the native side, but they share the
 * kernel's locks: every holder of a lock file also marks it with a shared
 * open-file-description lock on one byte (markAsLockFile), and an opener about
 * to wait for a file's main lock exclusively tests that byte first
 * (isMarkedAsLockFile). The test sees the holders of every thread and process
 * (flock cannot tell who holds it; this byte says why). Where open-file-
 * description locks are missing (macOS, Windows) only this thread's are known.
 */
import { lockRange, testRange } from "../native/native.ts";
import { inodeLockByte } from "./locks.ts";

/**
 * The marker's byte: past any data (2^53) and apart from the inode lock's byte
 * (2^62; half of it, since 2^62 + 1 is not a number a double can hold).
 */
const lockFileMarkerByte = inodeLockByte / 2;

/** Marks the lock file open as `fd` as held, for every thread and process, until `fd` is closed. */
export function markAsLockFile(fd: number, path: string): void {
  // Never busy (nobody takes the byte exclusively); "unsupported" leaves only this thread's registry.
  lockRange(fd, "shared", lockFileMarkerByte, path, false);
}

/** Whether some open file (of any thread or process) holds the file open as `fd` as a lock file. */
export function isMarkedAsLockFile(fd: number, path: string): boolean {
  return testRange(fd, lockFileMarkerByte, path) === "busy";
}

const beingCreated = new Set<string>();
const lockFilesHeld = new Map<string, number>();

export function isBeingCreated(identity: string): boolean {
  return beingCreated.has(identity);
}

/** Runs `create` with `identity` marked as being created. */
export function whileCreating<T>(identity: string, create: () => T): T {
  beingCreated.add(identity);
  try {
    return create();
  } finally {
    beingCreated.delete(identity);
  }
}

export function isHeldAsLockFile(identity: string): boolean {
  return lockFilesHeld.has(identity);
}

export function holdLockFile(identity: string): void {
  lockFilesHeld.set(identity, (lockFilesHeld.get(identity) ?? 0) + 1);
}

export function releaseLockFile(identity: string): void {
  const count = lockFilesHeld.get(identity) ?? 0;
  if (count <= 1) lockFilesHeld.delete(identity);
  else lockFilesHeld.set(identity, count - 1);
}
