/**
 * OnDiskTrieRawHashMap: a persistent, lock-free map from fixed-size hashes to
 * fixed-size records, shared by every process that opens the file. LLVM's format
 * (llvm/lib/CAS/OnDiskTrieRawHashMap.cpp), inside LLVM's DatabaseFile.
 *
 * The effect we want: many processes insert and look up hashes at once, a lookup
 * costs a few memory reads and no lock, an insert of a hash that is already there
 * returns the existing record, and a crash anywhere loses nothing published.
 *
 * Why the obvious ways do not work: a hash table must rehash as it grows, which
 * moves records under readers in other processes; a lock per insert serializes
 * writers and a killed holder stalls everyone; a tree needs rebalancing.
 *
 * The way chosen (LLVM's): a trie indexed by the hash's own bits. The root has
 * 2^rootBits slots, each child 2^subtrieBits; a slot is 0, a record, or a child.
 * Nothing ever moves or is freed. An insert walks to its slot, writes its record
 * (data, then hash) in fresh arena space, and publishes it with one 64-bit
 * compare-and-swap from 0. When the slot already holds another hash, the resident
 * record is "sunk" into a new child subtrie, published by compare-and-swap over
 * the resident's slot, and the walk goes on one level deeper. A reader that sees a
 * slot's value sees the finished record or subtrie behind it, because it was
 * written before the compare-and-swap that published it.
 *
 * What it gives up: no deletion; a lost race leaks space (a record whose hash
 * another process published first, a child subtrie another sinker published
 * first). We allocate a record only once its empty slot is found, keep a lost
 * subtrie to reuse for the next sink, count what leaks (`leaks`), and validate()
 * reports reachable bytes against the bump pointer. The mapping is limited to
 * 2 GiB (so offsets are 32-bit integers; see trie-layout.ts for why the walk needs it).
 *
 * Unlike LLVM, nothing read from the file is trusted (trie-layout.ts): a corrupt
 * file is an ERR_ARENA_CORRUPT that says where, never a wild read or a loop.
 */
import type { MappedFileRegionArena } from "../arena/arena.ts";
import { closedError, readOnlyError } from "../common/errors.ts";
import { optionalBoolean, optionalFunction, optionNames, refuseThenable, requireKnownOptions, requireNonNegativeInteger, type NotAPromise } from "../common/arguments.ts";
import { trieVariant } from "./broken-variants.ts";
import { alignUp8, corruptAt, headerMismatch, notHandedOut } from "./corruption.ts";
import { DatabaseFile, TableKind, type ByteViews, type MappingViews, type RootTable } from "./database-file.ts";
import { findMany } from "./find-many.ts";
import { indexAt, indexBits, maxHashBits, maxRootBits, maxSubtrieBits } from "./hash-index.ts";
import { slotPublish } from "./slot-publish.ts";
import {
  dataSizeAt,
  flagsAt,
  hashBitsAt,
  readTrieTableHeader,
  rootAt,
  subtrieBitsAt,
  subtrieBytes,
  subtrieHeaderBytes,
  trieTableHeaderBytes,
  TrieLayout,
  type TrieRecord,
} from "./trie-layout.ts";
import { trieRecordOffsets, walkTrie, type TrieValidation } from "./trie-walk.ts";

export type { TrieRecord } from "./trie-layout.ts";
export type { TrieValidation } from "./trie-walk.ts";

/** What an existing trie must be, for openReadOnly: its shape is the file's. */
export interface ReadOnlyTrieOptions {
  /** The table's name; the file must hold a trie of this name. */
  name: string;
  /** Bits in each hash: must match the file. */
  hashBits: number;
  /** Bytes of data in each record: must match the file. */
  dataBytes: number;
  /** Open even on NFS, SMB or FUSE (see MappedFileRegionArena). */
  allowUnsafeFileSystem?: boolean;
}

export interface TrieOptions {
  /** The table's name; an existing file must hold a trie of this name. */
  name: string;
  /** Bits in each hash: a multiple of 8, 8..65528. */
  hashBits: number;
  /** Bytes of data in each record, 0..2^32-1. */
  dataBytes: number;
  /** Bytes: the file's mapping size, fixed when it is created; at most 2 GiB here. */
  capacity: number;
  /** Root subtrie bits for a new file, 1..16 (LLVM's default 10). Ignored for an existing file, as in LLVM. */
  rootBits?: number;
  /** Child subtrie bits for a new file, 1..10 (LLVM's default 6). An existing file keeps its own. */
  subtrieBits?: number;
  /** Open even on NFS, SMB or FUSE (see MappedFileRegionArena). */
  allowUnsafeFileSystem?: boolean;
}

const trieOptionNames = optionNames<TrieOptions>({ name: true, hashBits: true, dataBytes: true, capacity: true, rootBits: true, subtrieBits: true, allowUnsafeFileSystem: true });
const readOnlyTrieOptionNames = optionNames<ReadOnlyTrieOptions>({ name: true, hashBits: true, dataBytes: true, allowUnsafeFileSystem: true });

/** Space lost to races by this instance (in this process), since it opened. */
export interface TrieLeaks {
  /** Records written but never published: another process published the same hash first, or an initializer threw. */
  records: number;
  /** Subtries allocated but never published (lost sinks not reused before close). */
  subtries: number;
  bytes: number;
}

/**
 * Called with the new record's data (zeroed, dataBytes long) and its offset;
 * runs only for a new hash. Synchronous: a promise returned is a TypeError
 * (the record would be published before its data is written).
 */
export type RecordInitializer = (data: Uint8Array, offset: number) => NotAPromise;

export const defaultRootBits = 10;
export const defaultSubtrieBits = 6;

/**
 * A persistent hash-to-record map shared by every process that opens the file.
 *
 * ```ts
 * using map = OnDiskTrieRawHashMap.create("index.db", { name: "index", hashBits: 256, dataBytes: 8, capacity: 1 << 30 });
 * const record = map.insert(sha256, (data) => data.set(value));  // the initializer runs only for a new hash
 * map.find(sha256)?.data;                                          // the same bytes, in any process
 * ```
 */
export class OnDiskTrieRawHashMap implements Disposable {
  readonly path: string;
  readonly name: string;
  readonly hashBits: number;
  readonly hashBytes: number;
  readonly dataBytes: number;
  /** The file's child subtrie bits (its own, whatever was asked). */
  readonly subtrieBits: number;
  readonly capacity: number;
  /** True when opened with openReadOnly: insert throws ERR_ARENA_READ_ONLY. */
  readonly readOnly: boolean;

  #file: DatabaseFile | null;
  #layout: TrieLayout | null;
  /** A child subtrie that lost its race, kept to serve the next sink: offset and allocated bits. */
  #spare = 0;
  #spareBits = 0;
  #leaks: TrieLeaks = { records: 0, subtries: 0, bytes: 0 };
  /** The record the insert in progress has written but not yet published, or -1. */
  #created = -1;

  /** Opens the trie in the database file at `path`, creating the file if it does not exist. */
  static create(path: string, options: TrieOptions): OnDiskTrieRawHashMap {
    if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
    requireKnownOptions(options, trieOptionNames);
    const shape = checkShape(options);
    const file = DatabaseFile.open(path, {
      capacity: options.capacity,
      allowUnsafeFileSystem: optionalBoolean(options.allowUnsafeFileSystem, "options.allowUnsafeFileSystem"),
      table: {
        kind: TableKind.trieRawHashMap,
        name: options.name,
        nameRelOffset: trieTableHeaderBytes,
        initialize: (arena, views, tableOffset) => initializeTrieTable(arena, views, tableOffset, shape),
        judge: (views, table, size) => judgeTrieTable(views, table, size, path, options.name, shape),
      },
    });
    try {
      return new OnDiskTrieRawHashMap(file, options.name, shape.hashBits, shape.dataBytes);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /**
   * Opens the trie in the existing database file at `path` read-only (see
   * MappedFileRegionArena.openReadOnly): find, iteration and validate work;
   * insert throws ERR_ARENA_READ_ONLY. It sees records up to the file's length
   * when it opened (all of them while a writer has the file open).
   */
  static openReadOnly(path: string, options: ReadOnlyTrieOptions): OnDiskTrieRawHashMap {
    if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
    requireKnownOptions(options, readOnlyTrieOptionNames);
    const shape = checkShape({ name: options.name, hashBits: options.hashBits, dataBytes: options.dataBytes, capacity: 0 });
    const file = DatabaseFile.openReadOnly(
      path,
      {
        kind: TableKind.trieRawHashMap,
        name: options.name,
        judge: (views, table, size) => judgeTrieTable(views, table, size, path, options.name, shape),
      },
      { allowUnsafeFileSystem: optionalBoolean(options.allowUnsafeFileSystem, "options.allowUnsafeFileSystem") },
    );
    try {
      return new OnDiskTrieRawHashMap(file, options.name, shape.hashBits, shape.dataBytes);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  private constructor(file: DatabaseFile, name: string, hashBits: number, dataBytes: number) {
    const { view } = file.views;
    const table = file.table;
    const path = file.path;
    const storedSubtrieBits = view.getUint8(table.offset + subtrieBitsAt);
    this.path = path;
    this.name = name;
    this.hashBits = hashBits;
    this.hashBytes = hashBits / 8;
    this.dataBytes = dataBytes;
    this.subtrieBits = storedSubtrieBits;
    this.capacity = file.arena.capacity;
    this.readOnly = file.readOnly;
    this.#file = file;
    const arena = file.arena;
    const shape = { hashBits, dataBytes, subtrieBits: storedSubtrieBits };
    const layout = new TrieLayout(path, () => arena.size, file.views, table, shape, file.readOnly ? file : undefined);
    const root = layout.storedRoot();
    if (root !== 0) layout.adoptRoot(root);
    this.#layout = layout;
  }

  /** Root subtrie bits of the file (0 while it has no root, which only other writers leave). */
  get rootBits(): number {
    return this.#layout?.rootBits ?? 0;
  }

  /**
   * The offset of the record for `hash`, or -1. The lookup's hot path: nothing is
   * allocated. `hash` must be hashBytes long.
   */
  findOffset(hash: Uint8Array): number {
    // Small enough for the JIT to inline into the caller's loop: one call per lookup.
    // (No root adopted yet: findQuick answers 0, and the slow path adopts a late one.)
    const layout = this.#layout;
    if (layout !== null && hash instanceof Uint8Array && hash.length === this.hashBytes) {
      const found = layout.findQuick(hash);
      if (found !== 0) return found;
    }
    return this.findOffsetSlowly(hash);
  }

  /**
   * findOffset when its fast path gives no answer: closed, a bad argument, no
   * root adopted yet, a miss, or a key findQuick does not serve. Kept out of
   * findOffset so that the checked walk is not compiled into the caller's loop.
   */
  private findOffsetSlowly(hash: Uint8Array): number {
    const layout = this.#layout;
    if (layout === null) throw closedError(this.path);
    if (!(hash instanceof Uint8Array) || hash.length !== this.hashBytes) this.#rejectHash(hash);
    if (layout.rootOffset === 0 && this.#lateRoot(layout) === 0) return -1;
    return layout.findChecked(hash);
  }

  /**
   * Looks up many hashes in one call: `hashes` holds them one after another (a
   * multiple of hashBytes long), and `offsets[i]` receives the record offset of
   * hash i, or -1 if it is absent. Returns how many were found. Nothing is
   * allocated per hash.
   *
   * Cheaper per hash than findOffset in a loop when the trie is larger than the
   * cache: the walks of eight hashes at a time go level by level side by side,
   * so their cache misses overlap instead of following one another (find-many.ts).
   *
   * ```ts
   * const offsets = new Int32Array(hashes.length / map.hashBytes);
   * map.findOffsets(hashes, offsets);
   * ```
   */
  findOffsets(hashes: Uint8Array, offsets: Int32Array): number {
    const layout = this.#layout;
    if (layout === null) throw closedError(this.path);
    if (!(hashes instanceof Uint8Array)) throw new TypeError(`hashes must be a Uint8Array, got ${hashes === null ? "null" : typeof hashes}`);
    if ((hashes.buffer as ArrayBuffer).detached === true) throw new TypeError("hashes must not be detached (its buffer was transferred)");
    if (hashes.length % this.hashBytes !== 0) throw new RangeError(`hashes must be a multiple of ${this.hashBytes} bytes (hashes of ${this.hashBits} bits), got ${hashes.length}`);
    if (!(offsets instanceof Int32Array)) throw new TypeError(`offsets must be an Int32Array, got ${offsets === null ? "null" : typeof offsets}`);
    const count = hashes.length / this.hashBytes;
    if (offsets.length < count) throw new RangeError(`offsets must hold ${count} offsets (one per hash), got ${offsets.length}`);
    // The walk marks a hash pending in `offsets` before it reads the hash: answers over the hashes would overwrite them.
    if (offsets.buffer === hashes.buffer && offsets.byteOffset < hashes.byteOffset + hashes.length && hashes.byteOffset < offsets.byteOffset + count * 4) {
      throw new RangeError("offsets must not overlap hashes (the answers would overwrite hashes not yet read)");
    }
    if (layout.rootOffset === 0 && this.#lateRoot(layout) === 0) {
      offsets.fill(-1, 0, count);
      return 0;
    }
    return findMany(layout, hashes, offsets, count);
  }

  /** The record for `hash` (views of the file), or null. */
  find(hash: Uint8Array): TrieRecord | null {
    const offset = this.findOffset(hash);
    return offset < 0 ? null : this.#layout!.record(offset);
  }

  /**
   * LLVM's insertLazy: the record for `hash`, inserting it if it is new. The
   * initializer fills a new record's data before anyone can see it, and runs
   * only if this call creates the record; if another process publishes the same
   * hash first, its record is returned and ours is leaked (counted in `leaks`).
   */
  insert(hash: Uint8Array, initialize?: RecordInitializer): TrieRecord {
    const offset = this.insertOffset(hash, initialize);
    return this.#layout!.record(offset);
  }

  /** insert(), returning only the record's offset. */
  insertOffset(hash: Uint8Array, initialize?: RecordInitializer): number {
    const layout = this.#layout;
    if (layout === null) throw closedError(this.path);
    if (this.readOnly) throw readOnlyError(this.path, "insert()");
    if (!(hash instanceof Uint8Array) || hash.length !== this.hashBytes) this.#rejectHash(hash);
    optionalFunction(initialize, "initialize");
    // An initializer may insert too: each call keeps its own record in #created.
    const outer = this.#created;
    this.#created = -1;
    try {
      return this.#insert(layout, hash, initialize);
    } catch (error) {
      // A record made for this insert that no slot got (the file filled up during
      // a later sink, or turned out corrupt) is leaked: count it.
      if (this.#created >= 0 && !(error instanceof InitializerFailed)) this.#leak("records", layout.recordBytes);
      throw error instanceof InitializerFailed ? error.cause : error;
    } finally {
      this.#created = outer;
    }
  }

  #insert(layout: TrieLayout, hash: Uint8Array, initialize: RecordInitializer | undefined): number {
    let subtrie = layout.rootOffset;
    if (subtrie === 0) subtrie = this.#getOrCreateRoot(layout);
    const hashBits = this.hashBits;
    let startBit = 0;
    let nominalBits = layout.rootBits;
    // Per level: at most empty -> lost publish -> record -> sink -> child. More
    // steps than that mean the slots change in ways no writer makes.
    const stepLimit = layout.maxLevels * 4 + 8;
    for (let step = 0; step < stepLimit; step++) {
      const bits = indexBits(nominalBits, startBit, hashBits);
      const slot = subtrie + subtrieHeaderBytes + indexAt(hash, 0, this.hashBytes, startBit, bits) * 8;
      let value = layout.loadSlot(slot);
      if (value === 0) {
        if (this.#created < 0) {
          this.#created = this.#createRecord(layout, hash, initialize);
          if (this.#layout === null) throw closedError(this.path); // the initializer closed us
        }
        value = this.#publish(layout, slot, 0, this.#created);
        if (value === 0) return this.#created;
      }
      if (value < 0) {
        startBit += nominalBits;
        nominalBits = this.subtrieBits;
        layout.requireSubtrie(-value, startBit, slot);
        subtrie = -value;
        continue;
      }
      layout.requireRecord(value, slot);
      if (layout.hashEquals(value, hash)) {
        if (this.#created >= 0) this.#leak("records", layout.recordBytes);
        return value;
      }
      // Another hash lives here: move it one level down, then look at this slot again.
      this.#sink(layout, slot, value, startBit + nominalBits);
    }
    throw corruptAt(this.path, subtrie, `insert did not settle within ${stepLimit} steps: the slots keep changing in ways no writer makes`);
  }

  /**
   * The record at `offset`, an offset stored earlier (LLVM's recoverFromFileOffset).
   * Checked: aligned, inside the file's records, and the trie maps its hash to it.
   */
  recoverFromOffset(offset: number): TrieRecord {
    const layout = this.#layout;
    if (layout === null) throw closedError(this.path);
    requireNonNegativeInteger(offset, "offset");
    if (offset % 8 !== 0) throw notHandedOut(this.path, offset, "a record", "records are 8-aligned");
    if (!layout.isRecord(offset)) {
      throw notHandedOut(this.path, offset, "a record", `a ${layout.recordBytes}-byte record there is not between the table end 0x${layout.floor.toString(16)} and the bump pointer 0x${layout.knownEnd.toString(16)}`);
    }
    // The hash as the library reads it, not through a view a caller may have written to.
    const hash = layout.bytes.subarray(offset + layout.dataBytes, offset + layout.recordBytes);
    if (this.findOffset(hash) !== offset) throw notHandedOut(this.path, offset, "a record", "the trie does not map the hash stored there to this offset");
    return layout.record(offset);
  }

  /**
   * Walks the whole trie and checks it (bounds, alignment, each subtrie's start
   * bit and width, each record's hash prefix against its slot, no node reached
   * twice or overlapping another), calling `visit` for each record. Returns what
   * it found, with the bytes reachable and the bytes leaked by lost races.
   * Throws ERR_ARENA_CORRUPT saying where, or whatever `visit` throws. While
   * other processes insert, leakedBytes also counts their records not yet
   * published (and records published behind the walk).
   */
  validate(visit?: (record: TrieRecord) => void): TrieValidation {
    const layout = this.#layout;
    if (layout === null) throw closedError(this.path);
    optionalFunction(visit, "visit");
    const onRecord = visit ? (offset: number) => visit(layout.record(offset)) : undefined;
    return walkTrie(layout, { strict: true, onRecord, isOpen: () => this.#layout !== null });
  }

  /**
   * Every record, in hash order (by the hash's bits, most significant first),
   * checked as validate() checks them (without the overlap check). Records
   * inserted during the walk may or may not appear.
   */
  *[Symbol.iterator](): Generator<TrieRecord> {
    const layout = this.#layout;
    if (layout === null) throw closedError(this.path);
    // The walk asks isOpen before each step: a caller may close the map between two records.
    for (const offset of trieRecordOffsets(layout, false, undefined, () => this.#layout !== null)) yield layout.record(offset);
  }

  /** Space this instance leaked to lost races since it opened. */
  get leaks(): TrieLeaks {
    return { ...this.#leaks };
  }

  /**
   * Bytes, not records: the bump pointer of the file, where the next allocation
   * starts (LLVM's size()). No record count is kept; validate().records, or
   * iterating the map, counts them by walking the whole trie.
   */
  get size(): number {
    return this.#file?.size ?? 0;
  }

  get closed(): boolean {
    return this.#file === null;
  }

  /** Unmaps the file and releases its locks; views handed out read as empty afterwards. */
  close(): void {
    const file = this.#file;
    if (file === null) return;
    if (this.#spare !== 0) this.#leak("subtries", subtrieBytes(this.#spareBits));
    this.#file = null;
    this.#layout = null;
    file.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** A new record: zeroed data, then the hash, then the caller's initializer. Not yet published. */
  #createRecord(layout: TrieLayout, hash: Uint8Array, initialize: RecordInitializer | undefined): number {
    const offset = this.#file!.arena.allocateOffset(layout.recordBytes);
    // A few words of data are zeroed in place: a fill() call costs more than the stores.
    if (layout.wordHashes && layout.dataBytes <= 64) {
      const int32 = layout.int32;
      for (let word = offset >> 2, end = (offset + layout.dataBytes) >> 2; word < end; word++) int32[word] = 0;
    } else {
      layout.bytes.fill(0, offset, offset + layout.dataBytes);
    }
    layout.bytes.set(hash, offset + layout.dataBytes);
    if (initialize !== undefined) {
      try {
        // A promise would publish the record before its data is written: refused (the record is leaked).
        const result = initialize(new Uint8Array(layout.bytes.buffer as ArrayBuffer, offset, layout.dataBytes), offset);
        if (trieVariant.broken !== "async-initializers") refuseThenable(result, "initialize");
      } catch (error) {
        this.#leak("records", layout.recordBytes);
        throw new InitializerFailed(error);
      }
    }
    return offset;
  }

  /**
   * Publishes `value` in the slot if it still holds `expected`; returns what the
   * slot held (so `expected` means success). One compare-and-swap, unless a test
   * switched to the broken plain store (testing.ts).
   *
   * A record into an empty slot (the common case) swaps the low word alone, from
   * 0 to the record's offset, as a 32-bit compare-and-swap: on a BigInt64Array
   * the swap takes JavaScriptCore's generic path and two BigInts (~50 ns, against
   * ~6 ns). It is the 64-bit swap's equal here: the caller has just read the slot
   * as empty (both words 0), no writer ever stores a state with a low word of 0
   * other than empty, and the high word of a record is 0, so "the low word is
   * still 0" is "the slot is still empty", and writing the low word leaves the
   * whole slot holding the record. A swap that finds the low word changed returns
   * the slot's value read again (no writer empties a slot; if one did, the low
   * word the swap saw is returned, never 0). A sink (record to child) changes
   * both words and keeps the 64-bit swap.
   */
  #publish(layout: TrieLayout, slot: number, expected: number, value: number): number {
    const word = slot >>> 3;
    if (slotPublish.broken === "plain-store") {
      const previous = Number(Atomics.load(layout.int64, word));
      if (previous === expected) {
        widenRaceWindow();
        layout.int64[word] = BigInt(value);
      }
      return previous;
    }
    if (expected === 0 && value > 0) {
      const low = Atomics.compareExchange(layout.int32, slot >>> 2, 0, value);
      if (low === 0) return 0;
      // Failure must not read as success: if a foreign write emptied the slot since, the low word the swap saw stands in.
      const now = layout.loadSlot(slot);
      return now !== 0 ? now : low;
    }
    return Number(Atomics.compareExchange(layout.int64, word, BigInt(expected), BigInt(value)));
  }

  /**
   * Moves the record `resident` from `slot` into a new child subtrie for the level
   * starting at `startBit`. If another process sank it first, our child is kept
   * (emptied) as the spare for the next sink, and the caller finds theirs.
   */
  #sink(layout: TrieLayout, slot: number, resident: number, startBit: number): void {
    const bits = indexBits(this.subtrieBits, startBit, this.hashBits);
    if (bits === 0) {
      throw corruptAt(this.path, resident, `record sits at the last level of the trie, in a slot its hash does not lead to`);
    }
    const residentIndex = indexAt(layout.bytes, resident + layout.dataBytes, layout.hashBytes, startBit, bits);
    const child = this.#takeSubtrie(layout, startBit, bits);
    const childSlotWord = ((child + subtrieHeaderBytes) >>> 3) + residentIndex;
    Atomics.store(layout.int64, childSlotWord, BigInt(resident));
    if (this.#publish(layout, slot, resident, -child) === resident) return;
    Atomics.store(layout.int64, childSlotWord, 0n);
    this.#keepSpare(child, bits);
  }

  /** An empty subtrie for (startBit, bits): the spare if it is big enough, else a new allocation. */
  #takeSubtrie(layout: TrieLayout, startBit: number, bits: number): number {
    let child = this.#spare;
    if (child !== 0 && this.#spareBits >= bits) {
      this.#spare = 0;
    } else {
      child = this.#file!.arena.allocateOffset(subtrieBytes(bits));
      // Fresh arena space is zero on disk, but a block handed back by another
      // writer may not be: a child's slots must start empty.
      layout.bytes.fill(0, child, child + subtrieBytes(bits));
    }
    layout.view.setUint16(child, startBit, true);
    layout.view.setUint8(child + 2, bits);
    return child;
  }

  #keepSpare(child: number, bits: number): void {
    if (this.#spare !== 0) this.#leak("subtries", subtrieBytes(this.#spareBits));
    this.#spare = child;
    this.#spareBits = bits;
  }

  /** LLVM's getOrCreateRoot: a table without a root gets one of subtrieBits, by compare-and-swap. */
  #getOrCreateRoot(layout: TrieLayout): number {
    const existing = this.#lateRoot(layout);
    if (existing !== 0) return existing;
    const bits = this.subtrieBits;
    const root = this.#file!.arena.allocateOffset(subtrieBytes(bits));
    layout.bytes.fill(0, root, root + subtrieBytes(bits));
    layout.view.setUint8(root + 2, bits);
    const word = (layout.table.offset + rootAt) >>> 3;
    const previous = Atomics.compareExchange(layout.int64, word, 0n, BigInt(root));
    if (previous !== 0n) this.#leak("subtries", subtrieBytes(bits));
    layout.adoptRoot(previous === 0n ? root : layout.storedRoot());
    return layout.rootOffset;
  }

  /** The root another process may have created since we opened; 0 if there is still none. */
  #lateRoot(layout: TrieLayout): number {
    const root = layout.storedRoot();
    if (root === 0) return 0;
    layout.adoptRoot(root);
    return root;
  }

  #leak(kind: "records" | "subtries", bytes: number): void {
    this.#leaks[kind] += 1;
    this.#leaks.bytes += alignUp8(bytes);
  }

  #rejectHash(hash: unknown): never {
    if (!(hash instanceof Uint8Array)) throw new TypeError(`hash must be a Uint8Array, got ${hash === null ? "null" : typeof hash}`);
    throw new RangeError(`hash must be ${this.hashBytes} bytes (${this.hashBits} bits), got ${hash.length}`);
  }
}

/** Carries an initializer's own error out of insert, so its leak is counted once and the error rethrown as is. */
class InitializerFailed {
  constructor(readonly cause: unknown) {}
}

/**
 * The broken variant's pause between its load and its store (a few microseconds):
 * the lost update it allows then shows within a few hundred contended inserts,
 * instead of once in millions. Only ever runs under useBrokenSlotPublishForTests.
 */
function widenRaceWindow(): void {
  const until = performance.now() + 0.005;
  // Bounded by the clock; at most a few thousand iterations.
  for (let spins = 0; spins < 100_000 && performance.now() < until; spins++);
}

/** Checks the numeric options and fills LLVM's defaults. */
function checkShape(options: TrieOptions): { hashBits: number; dataBytes: number; rootBits: number; subtrieBits: number } {
  const hashBits = requireNonNegativeInteger(options.hashBits, "options.hashBits");
  if (hashBits < 8 || hashBits > maxHashBits || hashBits % 8 !== 0) {
    throw new RangeError(`options.hashBits must be a multiple of 8 from 8 to ${maxHashBits}, got ${hashBits}`);
  }
  const dataBytes = requireNonNegativeInteger(options.dataBytes, "options.dataBytes");
  if (dataBytes > 0xffffffff) throw new RangeError(`options.dataBytes must be below 2^32, got ${dataBytes}`);
  const rootBits = requireNonNegativeInteger(options.rootBits ?? defaultRootBits, "options.rootBits");
  if (rootBits < 1 || rootBits > maxRootBits) throw new RangeError(`options.rootBits must be 1..${maxRootBits}, got ${rootBits}`);
  const subtrieBits = requireNonNegativeInteger(options.subtrieBits ?? defaultSubtrieBits, "options.subtrieBits");
  if (subtrieBits < 1 || subtrieBits > maxSubtrieBits) throw new RangeError(`options.subtrieBits must be 1..${maxSubtrieBits}, got ${subtrieBits}`);
  return { hashBits, dataBytes, rootBits, subtrieBits };
}

/** Judges an existing trie table's header against what the caller asked for. */
function judgeTrieTable(views: ByteViews, table: RootTable, size: number, path: string, name: string, shape: { hashBits: number; dataBytes: number }): void {
  const stored = readTrieTableHeader(views, table, size, path);
  if (stored.hashBits !== shape.hashBits) throw headerMismatch(path, name, `mismatched hash size (expected: ${shape.hashBits}, observed: ${stored.hashBits})`);
  if (stored.dataBytes !== shape.dataBytes) throw headerMismatch(path, name, `mismatched data size (expected: ${shape.dataBytes}, observed: ${stored.dataBytes})`);
  if (stored.flags !== 0) throw headerMismatch(path, name, `unsupported flags: ${stored.flags}`);
  if (stored.subtrieBits < 1 || stored.subtrieBits > maxSubtrieBits) {
    throw corruptAt(path, table.offset + subtrieBitsAt, `subtrie bits ${stored.subtrieBits} (1..${maxSubtrieBits} allowed)`);
  }
  judgeRoot(views, table, size, path);
}

/**
 * The root word and the root subtrie's header, judged with the table, so that a
 * writer's open refuses a corrupt root before the arena maps (and so touches)
 * the file. The same checks as TrieLayout.adoptRoot, which makes them again for
 * a root another writer creates later. A root is allocated before its word is
 * published, so a root past `size` means corruption only if `size` was read
 * after the word: the callers judge once more with a bump pointer read again
 * before they believe an ERR_ARENA_CORRUPT (DatabaseFile: judgeWithSizeReread).
 */
function judgeRoot(views: ByteViews, table: RootTable, size: number, path: string): void {
  const where = table.offset + rootAt;
  const stored = views.view.getBigInt64(where, true);
  if (stored === 0n) return; // none yet: LLVM creates the root lazily
  if (stored < BigInt(table.end) || stored >= 2n ** 31n || stored % 8n !== 0n) {
    throw corruptAt(path, where, `root subtrie offset 0x${BigInt.asUintN(64, stored).toString(16)} is not an allocation after the table`);
  }
  const root = Number(stored);
  if (root + subtrieHeaderBytes > size) throw corruptAt(path, where, `root subtrie offset 0x${root.toString(16)} is past the bump pointer 0x${size.toString(16)}`);
  const startBit = views.view.getUint16(root, true);
  const bits = views.view.getUint8(root + 2);
  if (startBit !== 0) throw corruptAt(path, root, `the root subtrie starts at bit ${startBit}, not 0`);
  if (bits < 1 || bits > maxRootBits) throw corruptAt(path, root, `the root subtrie has ${bits} bits (1..${maxRootBits} allowed)`);
  if (root + subtrieBytes(bits) > size) throw corruptAt(path, root, `the root subtrie (${bits} bits) runs past the bump pointer 0x${size.toString(16)}`);
}

/** onCreate: the trie's fields after the generic header, then the root subtrie (as LLVM's create does). */
function initializeTrieTable(
  arena: MappedFileRegionArena,
  views: MappingViews,
  tableOffset: number,
  shape: { hashBits: number; dataBytes: number; rootBits: number; subtrieBits: number },
): void {
  const { view, bytes } = views;
  view.setUint8(tableOffset + subtrieBitsAt, shape.subtrieBits);
  view.setUint8(tableOffset + flagsAt, 0);
  view.setUint16(tableOffset + hashBitsAt, shape.hashBits, true);
  view.setUint32(tableOffset + dataSizeAt, shape.dataBytes, true);
  const root = arena.allocateOffset(subtrieBytes(shape.rootBits));
  bytes.fill(0, root, root + subtrieBytes(shape.rootBits));
  view.setUint8(root + 2, shape.rootBits);
  view.setBigInt64(tableOffset + rootAt, BigInt(root), true);
}
