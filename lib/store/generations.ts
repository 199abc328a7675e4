/**
 * The generations of a store directory, as LLVM's UnifiedOnDiskCache keeps them:
 * `v1.0`, `v1.1`, ... The newest is the primary (every write goes there), the one
 * before it the upstream (read, and copied forward from on access); anything older
 * is garbage. Unlike LLVM, which starts a new generation only when the last
 * process closes the store, a new one starts while processes are using it: the
 * process whose write takes the primary past its budget makes the next directory
 * (mkdir is atomic, so exactly one process makes each) and sets the old primary's
 * "superseded" flag, which every process checks on every operation and follows.
 * A generation is deleted only when no process holds it open (its lock file), so
 * a slow process never writes into a generation that is gone.
 */
import { closeSync, mkdirSync, openSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ArenaError } from "../common/errors.ts";
import { tryLockFile, unlockFile } from "../native/native.ts";
import { Generation, generationPrefix, type GenerationCapacities } from "./generation.ts";
import { storeTestHooks } from "./testing.ts";

const generationName = /^v1\.(\d{1,15})$/;
const trashPrefix = "trash.";
export const corruptPrefix = "corrupt.";
/** How often opening retries when collectors keep removing what it listed. */
const openAttempts = 100;

/** The generation numbers in `root`, oldest first. */
export function listGenerations(root: string): number[] {
  const numbers: number[] = [];
  for (const name of readdirSync(root)) {
    const match = generationName.exec(name);
    if (match) numbers.push(Number(match[1]));
  }
  return numbers.sort((a, b) => a - b);
}

/** The two newest generations, open: [primary, upstream or null]. */
export function openNewest(root: string, capacities: GenerationCapacities): [Generation, Generation | null] {
  for (let attempt = 0; attempt < openAttempts; attempt++) {
    let numbers = listGenerations(root);
    if (numbers.length === 0) {
      mkdirSync(join(root, `${generationPrefix}0`), { recursive: true });
      numbers = [0];
    }
    const newest = numbers[numbers.length - 1]!;
    const primary = Generation.open(root, newest, capacities);
    if (primary === null) continue;
    const previous = numbers.length > 1 ? numbers[numbers.length - 2]! : null;
    let upstream: Generation | null = null;
    if (previous !== null) {
      try {
        upstream = Generation.open(root, previous, capacities);
      } catch (error) {
        primary.close();
        throw error;
      }
    }
    return [primary, upstream];
  }
  throw new ArenaError("ERR_CAS_BUSY", `could not open the newest generations of ${root}: they kept being removed`, {
    path: root,
  });
}

/** Starts the generation after `primary` (if nobody has yet) and flags `primary` as superseded. */
export function startNextGeneration(root: string, primary: Generation): void {
  mkdirSync(join(root, `${generationPrefix}${primary.number + 1}`), { recursive: true });
  primary.markSuperseded();
}

/**
 * Deletes every generation older than the newest two that no process holds open,
 * and leftovers of earlier deletions. With `includeCorrupt`, also the generations
 * recovery moved aside. Returns the names removed.
 */
export function collectGarbage(root: string, options: { includeCorrupt?: boolean } = {}): string[] {
  const removed: string[] = [];
  const numbers = listGenerations(root);
  for (const number of numbers.slice(0, Math.max(0, numbers.length - 2))) {
    const name = `${generationPrefix}${number}`;
    const trash = `${trashPrefix}${name}.${process.pid}.${Date.now()}`;
    if (!storeTestHooks.collectWithoutLocks && !withExclusiveLock(join(root, name, "lock"), () => moveAside(root, name, trash))) {
      continue;
    }
    if (storeTestHooks.collectWithoutLocks) moveAside(root, name, trash); // BROKEN on purpose
    removed.push(name);
  }
  for (const name of readdirSync(root)) {
    const leftover = name.startsWith(trashPrefix) || (options.includeCorrupt === true && name.startsWith(corruptPrefix));
    if (leftover) {
      rmSync(join(root, name), { recursive: true, force: true });
      if (!name.startsWith(trashPrefix)) removed.push(name);
    }
  }
  return removed;
}

/**
 * Removes temporary large-object files whose writer is dead (a process killed
 * between writing and renaming): the name holds the writer's pid.
 */
export function removeAbandonedTemporaries(root: string): string[] {
  const removed: string[] = [];
  for (const number of listGenerations(root)) {
    const directory = join(root, `${generationPrefix}${number}`);
    let names: string[];
    try {
      names = readdirSync(directory);
    } catch {
      continue; // removed meanwhile
    }
    for (const name of names) {
      const match = /\.(\d+)\.\d+\.tmp$/.exec(name);
      if (match === null || isAlive(Number(match[1]))) continue;
      rmSync(join(directory, name), { force: true });
      removed.push(join(`${generationPrefix}${number}`, name));
    }
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function moveAside(root: string, name: string, to: string): void {
  renameSync(join(root, name), join(root, to));
}

/**
 * Runs `action` while holding an exclusive flock on `lockPath`, if it can be had
 * without waiting; returns whether it ran. A missing file counts as "not had".
 */
export function withExclusiveLock(lockPath: string, action: () => void): boolean {
  let fd: number;
  try {
    fd = openSync(lockPath, "a+"); // made if missing (a generation whose maker died before opening it)
  } catch {
    return false;
  }
  try {
    if (!tryLockFile(fd, "exclusive", lockPath)) return false;
    try {
      action();
    } finally {
      unlockFile(fd, lockPath);
    }
    return true;
  } finally {
    closeSync(fd);
  }
}
