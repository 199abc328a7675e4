/**
 * One generation of the store: a directory `v1.<n>` holding the object index, the
 * data pool, the action cache and the large-object files, plus a `lock` file that
 * every process holding the generation open has a shared flock on. Garbage
 * collection deletes a generation only under an exclusive lock on that file, so
 * no process ever writes into (or reads from) a generation being deleted.
 *
 * The pool's user header holds two shared words: the bytes held in large-object
 * files (LLVM keeps the same counter there) and the "superseded" flag a rotating
 * process sets when it has made a newer generation, which every other process
 * checks with one atomic load per operation.
 */
import { closeSync, fstatSync, mkdirSync, openSync, statSync } from "node:fs";
import { join } from "node:path";
import { ArenaError } from "../common/errors.ts";
import { lockFile, unlockFile } from "../native/native.ts";
import type { DataPool, HashIndex } from "./tables.ts";
import { openStandInIndex, openStandInPool } from "./stand-in-tables.ts";

export const generationPrefix = "v1.";
const GiB = 2 ** 30;

/** Sizes of one generation's tables: address space, not disk (the files are sparse). */
export interface GenerationCapacities {
  indexBytes: number;
  poolBytes: number;
  actionsBytes: number;
}

export function capacitiesFor(maxBytes: number | undefined): GenerationCapacities {
  if (maxBytes === undefined) return { indexBytes: 4 * GiB, poolBytes: 16 * GiB, actionsBytes: 1 * GiB };
  const pool = Math.max(64 * 2 ** 20, Math.min(16 * GiB, maxBytes));
  return { indexBytes: Math.min(4 * GiB, pool), poolBytes: pool, actionsBytes: Math.min(GiB, pool) };
}

// Words of the pool's user header.
const userHeaderBytes = 16;
const largeBytesWord = 0; // BigInt64 index
const supersededWord = 2; // Int32 index

export class Generation {
  readonly number: number;
  readonly directory: string;
  readonly objects: HashIndex;
  readonly pool: DataPool;
  readonly actions: HashIndex;
  readonly #lockFd: number;
  readonly #flags: Int32Array;
  readonly #counters: BigInt64Array;

  private constructor(number: number, directory: string, lockFd: number, tables: [HashIndex, DataPool, HashIndex]) {
    this.number = number;
    this.directory = directory;
    this.#lockFd = lockFd;
    [this.objects, this.pool, this.actions] = tables;
    const header = this.pool.userHeader;
    this.#flags = new Int32Array(header.buffer, header.byteOffset, userHeaderBytes / 4);
    this.#counters = new BigInt64Array(header.buffer, header.byteOffset, userHeaderBytes / 8);
  }

  /**
   * Opens generation `number` under `root`, or returns null if it does not exist
   * (any more: a collector may have just removed it). `create` makes the directory.
   */
  static open(root: string, number: number, capacities: GenerationCapacities, create: boolean): Generation | null {
    const directory = join(root, `${generationPrefix}${number}`);
    if (create) mkdirSync(directory, { recursive: true });
    const lockPath = join(directory, "lock");
    let fd: number;
    try {
      fd = openSync(lockPath, "a+");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    try {
      lockFile(fd, "shared", lockPath);
      // A collector renames a generation away while holding the exclusive lock; if
      // we waited behind it, our lock is on a file that is no longer at its path.
      if (!sameFile(fd, lockPath)) {
        closeSync(fd);
        return null;
      }
      const tables = openTables(directory, capacities);
      return new Generation(number, directory, fd, tables);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** Bytes this generation holds: its three files' used sizes and its large-object files. */
  get storageBytes(): number {
    return this.objects.sizeBytes + this.pool.sizeBytes + this.actions.sizeBytes + this.largeObjectBytes;
  }

  get largeObjectBytes(): number {
    return Number(Atomics.load(this.#counters, largeBytesWord));
  }

  addLargeObjectBytes(bytes: number): void {
    Atomics.add(this.#counters, largeBytesWord, BigInt(bytes));
  }

  /** True once some process has started a newer generation. One atomic load. */
  get superseded(): boolean {
    return Atomics.load(this.#flags, supersededWord) !== 0;
  }

  markSuperseded(): void {
    Atomics.store(this.#flags, supersededWord, 1);
  }

  close(): void {
    for (const table of [this.actions, this.pool, this.objects]) {
      try {
        table.close();
      } catch {
        // Closing the others matters more than one close error.
      }
    }
    try {
      unlockFile(this.#lockFd, join(this.directory, "lock"));
    } finally {
      closeSync(this.#lockFd);
    }
  }
}

function sameFile(fd: number, path: string): boolean {
  try {
    const open = fstatSync(fd);
    const named = statSync(path);
    return open.ino === named.ino && open.dev === named.dev;
  } catch {
    return false;
  }
}

function openTables(directory: string, capacities: GenerationCapacities): [HashIndex, DataPool, HashIndex] {
  const opened: { close(): void }[] = [];
  try {
    const objects = openStandInIndex(join(directory, "index"), {
      dataBytes: 8,
      slots: 1 << 18,
      capacity: capacities.indexBytes,
    });
    opened.push(objects);
    const pool = openStandInPool(join(directory, "data"), { capacity: capacities.poolBytes, userHeaderBytes });
    opened.push(pool);
    const actions = openStandInIndex(join(directory, "actions"), {
      dataBytes: 32,
      slots: 1 << 16,
      capacity: capacities.actionsBytes,
    });
    return [objects, pool, actions];
  } catch (error) {
    for (const table of opened) table.close();
    if (error instanceof ArenaError && error.code === "ERR_ARENA_CORRUPT") {
      throw new ArenaError("ERR_CAS_CORRUPT", `${directory}: ${error.message}`, { path: directory });
    }
    throw error;
  }
}
