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
import { closeSync } from "node:fs";
import { join } from "node:path";
import { openRegularFile } from "../arena/regular-file.ts";
import { wordLoadsFor, type WordLoads } from "../arena/word-loads.ts";
import { ArenaError } from "../common/errors.ts";
import { lockFile, unlockFile } from "../native/native.ts";
import { toArenaError } from "./fs-errors.ts";
import { sameFile } from "./temporary-files.ts";
import { OnDiskDataAllocator } from "../trie/data-allocator.ts";
import { maxDatabaseCapacity } from "../trie/database-file.ts";
import { OnDiskTrieRawHashMap } from "../trie/trie-raw-hash-map.ts";

export const generationPrefix = "v1.";
const GiB = 2 ** 30;

/** Sizes of one generation's tables: address space, not disk (the files are sparse). */
export interface GenerationCapacities {
  indexBytes: number;
  poolBytes: number;
  actionsBytes: number;
}

/** The trie's database files map at most 2 GiB each (offsets stay 32-bit); LLVM maps 12 and 24 GiB. */
const maxTableBytes = maxDatabaseCapacity;

export function capacitiesFor(maxBytes: number | undefined): GenerationCapacities {
  const pool = maxBytes === undefined ? maxTableBytes : Math.max(64 * 2 ** 20, Math.min(maxTableBytes, maxBytes));
  return { indexBytes: Math.min(maxTableBytes, pool), poolBytes: pool, actionsBytes: Math.min(GiB, pool) };
}

/** The longest typed array JavaScriptCore indexes on its fast path (8-aligned): 2^31 - 8. */
const maxFastBytes = 2 ** 31 - 8;

/** The share of a table's capacity past which the generation counts as full (LLVM: 85%). */
export const hardLimitShare = 0.85;

// Words of the pool's user header.
const userHeaderBytes = 16;
const largeBytesWord = 0; // BigInt64 index
const supersededWord = 2; // Int32 index

export class Generation {
  readonly number: number;
  readonly directory: string;
  /** id -> 8-byte index word (object-record.ts). */
  readonly objects: OnDiskTrieRawHashMap;
  readonly pool: OnDiskDataAllocator;
  /** SHA-256 of an action key -> 32-byte object id. */
  readonly actions: OnDiskTrieRawHashMap;
  readonly #lockFd: number;
  readonly #flags: Int32Array;
  /**
   * The index file as 32-bit words, taken from the first record found (the trie
   * maps its file as one buffer, a record's data view at its file offset): lets a
   * lookup use findOffset and read the word, without the two views find() makes.
   */
  #indexWords = new Int32Array(0);
  #indexWordsLength = 0;
  readonly #counters: BigInt64Array;
  /**
   * The pool's mapping as one long-lived byte view, and the range of it known to
   * hold stored records, [#poolStart, #poolEnd): lets a read check a record's
   * bounds and read it without making a view or loading the bump pointer (a
   * BigInt) per call. Taken on first use, and again when a record lies past
   * #poolEnd (the pool grew). Never handed to a caller (views get poolView's
   * buffer), so nobody can detach it before close.
   */
  #poolBytes = new Uint8Array(0);
  /** Under the views poolView hands out; 0 bytes long once detached (taken away, or closed). */
  #viewBuffer: ArrayBuffer | null = null;
  /** Every buffer poolView made, for madeView: one per pool growth or transfer, not per view. */
  readonly #viewBuffers = new WeakSet<ArrayBuffer>();
  #poolStart = 0;
  #poolEnd = 0;
  /** Atomics.load for a writer; loads that never copy a page for a read-only opener. */
  readonly #loads: WordLoads;

  private constructor(number: number, directory: string, lockFd: number, tables: Tables) {
    this.number = number;
    this.directory = directory;
    this.#lockFd = lockFd;
    [this.objects, this.pool, this.actions] = tables;
    const header = this.pool.userHeader;
    this.#flags = new Int32Array(header.buffer, header.byteOffset, userHeaderBytes / 4);
    this.#counters = new BigInt64Array(header.buffer, header.byteOffset, userHeaderBytes / 8);
    this.#loads = wordLoadsFor(this.pool.readOnly);
  }

  /**
   * Opens generation `number` under `root`, or returns null if it does not exist
   * (any more: a collector may have just removed it). `readOnly`: its lock file
   * opened for reading (a shared flock needs no more) and its tables with
   * openReadOnly; nothing is created, and a generation that is not finished (no
   * lock file, a table missing or not created yet) is null too: a reader cannot
   * finish it (generations.ts, openNewestFinished).
   */
  static open(root: string, number: number, capacities: GenerationCapacities, readOnly = false): Generation | null {
    const directory = join(root, `${generationPrefix}${number}`);
    const lockPath = join(directory, "lock");
    let fd: number;
    try {
      fd = openRegularFile(lockPath, readOnly ? "read" : "lock"); // never waits on a FIFO
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw toArenaError(error, lockPath);
    }
    try {
      lockFile(fd, "shared", lockPath);
      // A collector renames a generation away while holding the exclusive lock; if
      // we waited behind it, our lock is on a file that is no longer at its path.
      if (!sameFile(fd, lockPath)) {
        closeSync(fd);
        return null;
      }
      const tables = readOnly ? openTablesReadOnly(directory) : openTables(directory, capacities);
      return new Generation(number, directory, fd, tables);
    } catch (error) {
      closeSync(fd);
      if (readOnly && isUnfinished(error)) return null;
      throw toArenaError(error, directory);
    }
  }

  /**
   * The record offset of `id`'s index word, or -1 if the index has no record for
   * it. The lookup's hot path: nothing allocated once warm. Read the word with
   * wordKindAt and wordOffsetAt.
   */
  findWord(id: Uint8Array): number {
    const offset = this.objects.findOffset(id);
    if (offset < 0) return -1;
    // One comparison of small integers: the word lies inside the 32-bit view.
    if ((offset >> 2) + 1 < this.#indexWordsLength) return offset;
    return this.#findWordSlowly(id, offset);
  }

  /** findWord for a record offset `at` already known (from the index's insert). */
  wordAtRecord(id: Uint8Array, at: number): number {
    return (at >> 2) + 1 < this.#indexWordsLength ? at : this.#findWordSlowly(id, at);
  }

  /** The storage kind of the word at record offset `at` (from findWord): its top byte. */
  wordKindAt(at: number): number {
    return this.#indexWords[(at >> 2) + 1]! >>> 24;
  }

  /** The offset (or file length) in the low 56 bits of the word at `at`. */
  wordOffsetAt(at: number): number {
    const words = this.#indexWords;
    return (words[(at >> 2) + 1]! & 0xff_ffff) * 2 ** 32 + (words[at >> 2]! >>> 0);
  }

  /** Publishes `value` into the word at `at` if it is still 0 (one 64-bit compare-and-swap). */
  publishWordAt(at: number, value: bigint): void {
    Atomics.compareExchange(new BigInt64Array(this.#indexWords.buffer, at, 1), 0, 0n, value);
  }

  #findWordSlowly(id: Uint8Array, offset: number): number {
    const record = this.objects.find(id);
    if (record === null) return -1;
    if (record.data.byteOffset !== record.offset || record.offset !== offset || offset % 8 !== 0) {
      throw new ArenaError("ERR_CAS_INTERNAL", `the index ${this.objects.path} does not lay records out at their offsets`);
    }
    // 32-bit words, not bytes: a Uint8Array of the whole 2 GiB file would have a
    // length past 2^31 - 1, which JavaScriptCore indexes on a slow path.
    const buffer = record.data.buffer;
    this.#indexWords = new Int32Array(buffer as ArrayBuffer, 0, Math.floor(buffer.byteLength / 4));
    this.#indexWordsLength = this.#indexWords.length;
    return offset;
  }

  /**
   * The pool's bytes, if [offset, end) lies between the table's end and the bump
   * pointer (inside stored records); null if not (a damaged index word). The
   * returned array is valid until this generation is closed.
   */
  poolBytesOver(offset: number, end: number): Uint8Array | null {
    if (offset >= this.#poolStart && end <= this.#poolEnd && end <= this.#poolBytes.length) return this.#poolBytes;
    return this.#poolBytesSlowly(offset, end);
  }

  /**
   * A view of the pool's [start, start + length) for a caller to keep (view()),
   * over a buffer of its own (see OnDiskDataAllocator.separateBuffer): a caller
   * who transfers it away takes that one only, never the buffer the tables and
   * this generation's flags are read through; the next view makes another.
   * The range must be one that poolBytesOver vouched for. A read-only
   * generation's views come from pool.get(): it checks the pages under each view
   * against the file first, so that a caller's write through one view (which
   * copies its page privately) never makes a later view show that copy
   * (DatabaseFile.handoutView).
   */
  poolView(start: number, length: number): Uint8Array {
    if (this.pool.readOnly) return this.pool.get(start, length);
    let buffer = this.#viewBuffer;
    if (buffer === null || buffer.byteLength < start + length) {
      buffer = this.#viewBuffer = this.pool.separateBuffer(start + length);
      this.#viewBuffers.add(buffer);
    }
    return new Uint8Array(buffer, start, length);
  }

  /**
   * True when `bytes` lies over a buffer poolView made: a view of this writable
   * generation (or part of one), which closing it detaches. A read-only
   * generation's views are not tracked (a read-only store puts nothing).
   */
  madeView(bytes: Uint8Array): boolean {
    return this.#viewBuffers.has(bytes.buffer as ArrayBuffer);
  }

  /** The array poolBytesOver last returned: read only ranges it vouched for. */
  get poolBytes(): Uint8Array {
    return this.#poolBytes;
  }

  #poolBytesSlowly(offset: number, end: number): Uint8Array | null {
    let block: Uint8Array;
    try {
      block = this.pool.get(offset, end - offset); // checks the bounds, and follows a grown read-only file
    } catch (error) {
      if (error instanceof ArenaError && error.code === "ERR_ARENA_CORRUPT") return null;
      throw error;
    }
    // Under 2^31 bytes: JavaScriptCore indexes a longer typed array on a slow path
    // (a 2 GiB pool's whole mapping is 2^31). The last bytes of a full pool are
    // then read by the general path (pool.get), as is anything past #poolEnd.
    const buffer = block.buffer as ArrayBuffer;
    this.#poolBytes = new Uint8Array(buffer, 0, Math.min(buffer.byteLength, maxFastBytes));
    this.#poolStart = this.pool.dataStart;
    this.#poolEnd = Math.min(this.pool.size, this.#poolBytes.length);
    return end <= this.#poolEnd ? this.#poolBytes : null;
  }

  /**
   * Bytes this generation holds: its three files' used sizes and its large-object
   * files. Infinity when the large-object counter reads a value no put could
   * have made (damage, which validate reports): not knowing, the generation
   * counts as full, so a bounded store's next budget check rotates away from it
   * and the next generation counts from 0 (the damaged one is collected two
   * rotations later). Read as 0 or as it is, a negative counter would let large
   * objects grow the generation without bound.
   */
  get storageBytes(): number {
    const large = this.largeObjectBytes;
    if (!isPlausibleLargeObjectBytes(large)) return Infinity;
    return this.objects.size + this.pool.size + this.actions.size + large;
  }

  /** The fullest table's share of its capacity, 0..1: a generation must rotate before any fills. */
  get hardLimitUtilization(): number {
    return Math.max(
      this.objects.size / this.objects.capacity,
      this.pool.size / this.pool.capacity,
      this.actions.size / this.actions.capacity,
    );
  }

  /** The shared counter of bytes in large-object files, as read: see isPlausibleLargeObjectBytes. */
  get largeObjectBytes(): number {
    return Number(this.#loads.int64(this.#counters, largeBytesWord));
  }

  addLargeObjectBytes(bytes: number): void {
    Atomics.add(this.#counters, largeBytesWord, BigInt(bytes));
  }

  /** True once some process has started a newer generation. One atomic load. */
  get superseded(): boolean {
    return this.#loads.int32(this.#flags, supersededWord) !== 0;
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

/**
 * Whether a large-object counter could be one puts made: each adds a file's
 * length, so it is never negative, and no file system holds 2^53 bytes (past
 * that a Number is not even exact). Anything else is a damaged word.
 */
export function isPlausibleLargeObjectBytes(bytes: number): boolean {
  return bytes >= 0 && bytes <= Number.MAX_SAFE_INTEGER;
}

/** A table a rotator has not made yet (ENOENT) or not finished creating (empty, or its creation interrupted). */
function isUnfinished(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ERR_ARENA_NOT_CREATED";
}

type Tables = [OnDiskTrieRawHashMap, OnDiskDataAllocator, OnDiskTrieRawHashMap];

export const indexTable = { name: "mfa.cas.index[sha256]", hashBits: 256, dataBytes: 8 };
const poolTable = { name: "mfa.cas.data[sha256]", userHeaderBytes };
const actionsTable = { name: "mfa.cas.actions[sha256->id]", hashBits: 256, dataBytes: 32 };

function openTables(directory: string, capacities: GenerationCapacities): Tables {
  return openEach(directory, [
    () => OnDiskTrieRawHashMap.create(join(directory, "index.v1"), { ...indexTable, capacity: capacities.indexBytes }),
    () => OnDiskDataAllocator.create(join(directory, "data.v1"), { ...poolTable, capacity: capacities.poolBytes }),
    () => OnDiskTrieRawHashMap.create(join(directory, "actions.v1"), { ...actionsTable, capacity: capacities.actionsBytes }),
  ]);
}

function openTablesReadOnly(directory: string): Tables {
  return openEach(directory, [
    () => OnDiskTrieRawHashMap.openReadOnly(join(directory, "index.v1"), indexTable),
    () => OnDiskDataAllocator.openReadOnly(join(directory, "data.v1"), poolTable),
    () => OnDiskTrieRawHashMap.openReadOnly(join(directory, "actions.v1"), actionsTable),
  ]);
}

/** Opens the three tables in order, closing what opened if one fails; a corrupt table is ERR_CAS_CORRUPT. */
function openEach(directory: string, openers: [() => OnDiskTrieRawHashMap, () => OnDiskDataAllocator, () => OnDiskTrieRawHashMap]): Tables {
  const opened: { close(): void }[] = [];
  try {
    const objects = openers[0]();
    opened.push(objects);
    const pool = openers[1]();
    opened.push(pool);
    const actions = openers[2]();
    return [objects, pool, actions];
  } catch (error) {
    for (const table of opened) table.close();
    if (error instanceof ArenaError && (error.code === "ERR_ARENA_CORRUPT" || error.code === "ERR_ARENA_HEADER_MISMATCH")) {
      throw new ArenaError("ERR_CAS_CORRUPT", `${directory}: ${error.message}`, { path: directory });
    }
    throw error;
  }
}
