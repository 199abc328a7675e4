/**
 * The generations of a store directory, as LLVM's UnifiedOnDiskCache keeps them:
 * `v1.0`, `v1.1`, ... The newest is the primary (every write goes there), the one
 * before it the upstream (read, and copied forward from on access); anything older
 * is garbage. Unlike LLVM, which starts a new generation only when the last
 * process closes the store, a new one starts while processes are using it: the
 * process whose write takes the primary past its budget sets the old primary's
 * "superseded" flag, which every process checks on every operation and follows,
 * then makes the next directory (mkdir is idempotent, so any number of processes
 * may make it). Each step can be interrupted by a SIGKILL, so each is completed by
 * whoever comes next: a process that finds the newest generation flagged makes
 * the next one itself, and a process that opens a generation flags the one
 * before it (a rotator of an older version made the directory first; a process
 * still on that one would otherwise never see anything put since).
 * A generation is deleted only when no process holds it open (its lock file), so
 * a slow process never writes into a generation that is gone.
 */
import { closeSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { openRegularFile } from "../arena/regular-file.ts";
import { join } from "node:path";
import { ArenaError } from "../common/errors.ts";
import { tryLockFile, unlockFile } from "../native/native.ts";
import { toArenaError, wrapFsErrors } from "./fs-errors.ts";
import { Generation, generationPrefix, type GenerationCapacities } from "./generation.ts";
import { generationName, gone, markerTemporaryName } from "./store-directory.ts";
import { removeIfAbandoned, sameFile } from "./temporary-files.ts";
import { storeTestHooks } from "./testing.ts";

/**
 * Generation numbers above this are foreign (a hand-made or damaged name), not
 * generations: a trillion rotations is out of reach, while a number near 2^53
 * would make a next name that no longer parses back to its successor.
 */
export const maxGenerationNumber = 2 ** 40;
/** Foreign names already warned about, so each is reported once per process. */
const warnedForeign = new Set<string>();
const trashPrefix = "trash.";
export const corruptPrefix = "corrupt.";
/**
 * The leftovers gc removes, by their exact names (the store makes no others):
 * `trash.v1.N.<pid>.<ms>` (collectGarbage's rename) and `corrupt.K.v1.N` (recovery's).
 */
const trashName = /^trash\.v1\.(0|[1-9]\d*)\.\d+\.\d+$/;
const corruptName = /^corrupt\.\d+\.v1\.(0|[1-9]\d*)$/;
/** Every name the store makes inside a generation: its lock, tables (and their arenas' `.shared` lock files), large objects and their temporary files. */
const generationFileName = /^(lock|(index|data|actions)\.v1(\.shared)?|(leaf|obj)\.[0-9a-f]{64}(\.\d+\.\d+\.tmp)?)$/;
/** Temporary files (temporary-files.ts) by folder: a generation's large objects, the spill folder's downloads. */
const generationTemporaryName = /^(leaf|obj)\.[0-9a-f]{64}\.\d+\.\d+\.tmp$/;
const downloadTemporaryName = /^download\.\d+\.\d+\.tmp$/;
/** How often opening retries when collectors keep removing what it listed. */
const openAttempts = 100;

/** The generation numbers in `root`, oldest first. */
export function listGenerations(root: string): number[] {
  const numbers: number[] = [];
  for (const name of wrapFsErrors(root, () => readdirSync(root))) {
    const match = generationName.exec(name);
    if (match === null) continue;
    const number = Number(match[1]);
    if (number <= maxGenerationNumber) numbers.push(number);
    else warnForeign(root, name);
  }
  return numbers.sort((a, b) => a - b);
}

/**
 * The two newest generations, open: [primary, upstream or null]. `readOnly`:
 * the two newest finished ones (openNewestFinished), and a store with no
 * generation is an error, not made. A generation in `opened` (what the caller
 * holds open) is returned as it is, not opened again: views of its mapping that
 * the caller handed out stay valid.
 */
export function openNewest(root: string, capacities: GenerationCapacities, readOnly = false, opened: readonly Generation[] = []): [Generation, Generation | null] {
  if (readOnly) return openNewestFinished(root, capacities, opened);
  const open = (number: number) => opened.find((generation) => generation.number === number) ?? Generation.open(root, number, capacities);
  for (let attempt = 0; attempt < openAttempts; attempt++) {
    let numbers = listGenerations(root);
    if (numbers.length === 0) {
      makeGeneration(root, 0);
      numbers = [0];
    }
    const newest = numbers[numbers.length - 1]!;
    const primary = open(newest);
    if (primary === null) continue;
    if (primary.superseded && !storeTestHooks.noRotationRepair) {
      // Its rotator flagged it and died (or is about to make the next): finish for it.
      if (!opened.includes(primary)) primary.close();
      makeGeneration(root, newest + 1);
      continue;
    }
    const previous = numbers.length > 1 ? numbers[numbers.length - 2]! : null;
    let upstream: Generation | null = null;
    if (previous !== null) {
      try {
        upstream = open(previous);
        // Set already, unless its rotator died between mkdir and flag.
        if (!storeTestHooks.noRotationRepair) upstream?.markSuperseded();
      } catch (error) {
        if (!opened.includes(primary)) primary.close();
        throw error;
      }
    }
    return [primary, upstream];
  }
  throw new ArenaError("ERR_CAS_BUSY", `could not open the newest generations of ${root}: they kept being removed`, {
    path: root,
  });
}

/**
 * A reader's pair: the newest *finished* generation, open read-only, and the
 * one before it. A reader cannot finish a generation, and a rotator leaves its
 * next one unfinished for a moment (mkdir, then the lock file, then each table,
 * then each table's header; Generation.open says null until all are there), or
 * for good if it is killed in between. Everything put before the rotator's flag
 * is in the generation before it, so an unfinished generation means "no newer
 * generation yet", never an error.
 */
export function openNewestFinished(root: string, capacities: GenerationCapacities, opened: readonly Generation[] = []): [Generation, Generation | null] {
  for (let attempt = 0; attempt < openAttempts; attempt++) {
    const numbers = listGenerations(root);
    if (numbers.length === 0) break; // marked, with its lock: its first writer has not made v1.0 yet (or died first)
    const pair = openFinishedFrom(root, numbers, capacities, -1, opened);
    if (pair !== null) return pair;
    // None finished: either a collector removed what was listed (list again), or
    // the store's first generation is still being made (or its maker died).
    const again = listGenerations(root);
    if (again.length === numbers.length && again.every((number, index) => number === numbers[index])) break;
  }
  throw new ArenaError(
    "ERR_ARENA_NOT_CREATED",
    `no generation of ${root} is finished: a writer is making the store, or died making it (open it once with ContentStore.open)`,
    { path: root },
  );
}

/**
 * A reader's pair whose primary is newer than `number`; null while none is
 * finished (keep the current pair). Generations in `opened` are reused, as by openNewest.
 */
export function openFinishedNewerThan(
  root: string,
  capacities: GenerationCapacities,
  number: number,
  opened: readonly Generation[],
): [Generation, Generation | null] | null {
  return openFinishedFrom(root, listGenerations(root), capacities, number, opened);
}

/** The newest finished generation of `numbers` above `newerThan`, read-only, and the one listed before it. */
function openFinishedFrom(
  root: string,
  numbers: number[],
  capacities: GenerationCapacities,
  newerThan: number,
  opened: readonly Generation[],
): [Generation, Generation | null] | null {
  const open = (number: number) => opened.find((generation) => generation.number === number) ?? Generation.open(root, number, capacities, true);
  for (let index = numbers.length - 1; index >= 0 && numbers[index]! > newerThan; index--) {
    const primary = open(numbers[index]!);
    if (primary === null && storeTestHooks.noFallbackForReaders) {
      throw new ArenaError("ERR_CAS_BUSY", `${root}: generation ${numbers[index]} is not finished (BROKEN on purpose: no fallback)`, { path: root });
    }
    if (primary === null) continue;
    try {
      return [primary, index > 0 ? open(numbers[index - 1]!) : null];
    } catch (error) {
      if (!opened.includes(primary)) primary.close();
      throw error;
    }
  }
  return null;
}

/**
 * Flags `primary` as superseded, then starts the generation after it (if nobody
 * has yet). In this order a crash between the two leaves a flag that every
 * process follows (and openNewest then makes the directory), never a newer
 * directory that processes still on `primary` do not know about.
 */
export function startNextGeneration(root: string, primary: Generation): void {
  primary.markSuperseded();
  makeGeneration(root, primary.number + 1);
}

function makeGeneration(root: string, number: number): void {
  if (number > maxGenerationNumber) {
    throw new ArenaError("ERR_CAS_CORRUPT", `${root} would need generation ${number}, past the largest, ${maxGenerationNumber}`, {
      path: root,
    });
  }
  const directory = join(root, `${generationPrefix}${number}`);
  try {
    mkdirSync(directory); // never its parent: a store whose directory was removed is not made again
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return; // another process made it first
    if (code === "ENOENT") throw gone(root);
    throw toArenaError(error, directory);
  }
}

function warnForeign(root: string, name: string, why = `generation numbers stop at ${maxGenerationNumber}, so it is not one of the store's`): void {
  const path = join(root, name);
  if (warnedForeign.has(path)) return;
  warnedForeign.add(path);
  process.emitWarning(`ignoring ${path}: ${why}`, { code: "MFA_CAS_FOREIGN_GENERATION" });
}

/**
 * Whether the directory `name` holds only names the store makes in a generation:
 * gc removes nothing else, so a file someone put there keeps its directory (with
 * a warning) rather than being deleted with it.
 */
function holdsOnlyStoreFiles(root: string, name: string): boolean {
  let names: string[];
  try {
    names = readdirSync(join(root, name));
  } catch (error) {
    // Removed meanwhile (by another collector), or not a directory: a file is not a generation's remains.
    if ((error as NodeJS.ErrnoException).code === "ENOTDIR") warnForeign(root, name, "it is a file, not a generation's directory, so gc leaves it");
    return false;
  }
  const foreign = names.find((entry) => !generationFileName.test(entry));
  if (foreign === undefined) return true;
  warnForeign(root, name, `it holds ${JSON.stringify(foreign)}, which the store does not make, so gc leaves it`);
  return false;
}

/**
 * Deletes every generation older than the newest two that no process holds open,
 * and leftovers of earlier deletions. With `includeCorrupt`, also the generations
 * recovery moved aside. Returns the names removed.
 */
export function collectGarbage(root: string, options: { includeCorrupt?: boolean } = {}): string[] {
  const removed: string[] = [];
  /** Reported by their generation's name; trash of earlier, interrupted deletions by its own. */
  const movedAside = new Set<string>();
  const numbers = listGenerations(root);
  for (const number of numbers.slice(0, Math.max(0, numbers.length - 2))) {
    const name = `${generationPrefix}${number}`;
    if (!holdsOnlyStoreFiles(root, name)) continue;
    const trash = `${trashPrefix}${name}.${process.pid}.${Date.now()}`;
    if (!storeTestHooks.collectWithoutLocks && !withExclusiveLock(join(root, name, "lock"), () => moveAside(root, name, trash))) {
      continue;
    }
    if (storeTestHooks.collectWithoutLocks) moveAside(root, name, trash); // BROKEN on purpose
    removed.push(name);
    movedAside.add(trash);
  }
  for (const name of wrapFsErrors(root, () => readdirSync(root))) {
    const leftover = trashName.test(name) || (options.includeCorrupt === true && corruptName.test(name));
    if (leftover && holdsOnlyStoreFiles(root, name)) {
      wrapFsErrors(join(root, name), () => rmSync(join(root, name), { recursive: true, force: true }));
      if (!movedAside.has(name)) removed.push(name);
    }
  }
  return removed;
}

/** The store's folder for downloads spilled to disk (remote/http-cache.ts); gc cleans it like a generation. */
export const spillDirectoryName = "tmp";

/**
 * Removes temporary files whose writer is gone (a process killed between writing
 * and renaming, or during a download): those no writer holds locked
 * (temporary-files.ts; never decided by pid, which another pid namespace cannot
 * see). Looks in every generation, in the spill folder and in the top folder
 * (a marker being written), each for the exact names the store gives its files there.
 */
export function removeAbandonedTemporaries(root: string): string[] {
  const folders: [string, RegExp][] = [
    ...listGenerations(root).map((number): [string, RegExp] => [`${generationPrefix}${number}`, generationTemporaryName]),
    [spillDirectoryName, downloadTemporaryName],
    ["", markerTemporaryName],
  ];
  const removed: string[] = [];
  for (const [folder, temporaryName] of folders) {
    const directory = join(root, folder);
    let names: string[];
    try {
      names = readdirSync(directory);
    } catch {
      continue; // removed meanwhile, or never made
    }
    for (const name of names) {
      if (!temporaryName.test(name)) continue;
      if (storeTestHooks.temporariesByPid ? removeIfPidDead(join(directory, name)) : removeIfAbandoned(join(directory, name))) {
        removed.push(join(folder, name));
      }
    }
  }
  return removed;
}

/** BROKEN on purpose (storeTestHooks.temporariesByPid): the pid check this replaced, for the test that shows it fails. */
function removeIfPidDead(path: string): boolean {
  const pid = Number(/\.(\d+)\.\d+\.tmp$/.exec(path)![1]);
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EPERM") return false;
  }
  wrapFsErrors(path, () => rmSync(path, { force: true }));
  return true;
}

/** Renames generation `name` to `to`; false if it is gone already (another collector moved it first). */
function moveAside(root: string, name: string, to: string): boolean {
  try {
    renameSync(join(root, name), join(root, to));
    return true;
  } catch (error) {
    // Under its lock, checked to be the one at the path, only a collector that
    // takes no lock (an older version's) can have moved it: not ours to report.
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && !storeTestHooks.collectorTrustsItsOpenLock) return false;
    throw toArenaError(error, join(root, name));
  }
}

/**
 * Runs `action` while holding an exclusive flock on `lockPath`, if it can be had
 * without waiting; returns whether it ran and did its work (did not answer
 * false). A missing file counts as "not had", and so does a lock on a file no
 * longer at `lockPath`: between our open and our lock another collector may have
 * locked the same file, renamed its generation away and let go, and the lock we
 * then get guards nothing (Generation.open checks the same after its shared lock).
 */
export function withExclusiveLock(lockPath: string, action: () => boolean | void): boolean {
  let fd: number;
  try {
    fd = openRegularFile(lockPath, "lock"); // made if missing (a generation whose maker died before opening it)
  } catch {
    return false;
  }
  try {
    storeTestHooks.collectorLockOpened?.();
    if (!tryLockFile(fd, "exclusive", lockPath)) return false;
    try {
      if (!storeTestHooks.collectorTrustsItsOpenLock && !sameFile(fd, lockPath)) return false;
      return action() !== false;
    } finally {
      unlockFile(fd, lockPath);
    }
  } finally {
    closeSync(fd);
  }
}
