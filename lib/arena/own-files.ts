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
 */
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
