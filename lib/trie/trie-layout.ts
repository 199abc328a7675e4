/**
 * The bytes of LLVM's OnDiskTrieRawHashMap table, and every read of them checked.
 *
 * Table (the DatabaseFile's root table, kind 1), offsets from its start:
 *   0  generic header (kind u16, name size u16, name offset i32 = 32)
 *   8  u8  subtrie bits          9  u8  flags (0)
 *  10  u16 hash bits            12  u32 record data size
 *  16  i64 root subtrie offset  24  i64 allocator offset (0, reserved by LLVM)
 *  32  name, NUL
 * Subtrie: u16 start bit, u8 bit count, 5 bytes of 0, then 2^bits slots of i64:
 *   0 empty, positive the offset of a record, negative minus the offset of a child.
 * Record: the data (dataBytes), then the hash, padded to 8 by the allocation.
 *
 * (find's first walk, findQuick, is the exception: it checks only its answer; see
 * findQuick.)
 *
 * Why every read is checked: the slots and headers come from a file that another
 * process, an older version or a disk error may have written. A slot value is used
 * as an index into the mapping only after it is known to be 8-aligned, past the
 * table and below the bump pointer with room for what it points at, and a child's
 * header must say it starts where its parent ends. Depth is then bounded by the
 * hash's bit count, because each level starts further into the hash. LLVM checks
 * none of this on find or insert, so a bad slot there reads out of bounds or loops.
 *
 * Slots are read as two plain 32-bit loads, not one 64-bit load: a BigInt64Array
 * load boxes a BigInt (~20 ns here), and not Atomics.load either, which
 * JavaScriptCore compiles to a locked read-modify-write on x86 (`lock xadd 0`):
 * a full fence that stops the next lookup's loads from starting while this one
 * waits on a cache miss, and that takes the cache line exclusive, so readers in
 * two processes bounce it between cores (and, on a read-only opener's private
 * mapping, a write copies the page: lib/arena/word-loads.ts; a plain load writes
 * nothing, so writers and read-only openers read slots alike, while the words
 * without an address dependency, the root word, keep `loads`). Plain loads are enough because of how
 * slots change: 0, then a record (high word 0), then a child (high word -1),
 * never back; and offsets are below 2^31 (the mapping is at most 2 GiB), so the
 * low word alone, read as a signed integer, is the whole value. Every state has
 * high === low >> 31 and the low word alone tells the three apart, so whichever
 * of the two loads happens first, a pair that agrees holds a value the slot had;
 * the high word is read only to catch a value no writer stores, and a pair that
 * disagrees (a child published between the two loads) is reread with one atomic
 * 64-bit load before it is called corrupt. An aligned 32-bit typed-array read
 * cannot tear (ECMAScript's [[NoTear]]), and what a slot points at is read
 * through an address computed from the slot's value, which orders those reads
 * after it on every processor Bun runs on (x86 keeps loads in order; ARM orders
 * a load after the load its address depends on). The argument is in docs/DESIGN.md.
 */
import { atomicWordLoads, type WordLoads } from "../arena/word-loads.ts";
import { trieVariant } from "./broken-variants.ts";
import { corruptAt } from "./corruption.ts";
import type { ByteViews, MappingViews, RootTable } from "./database-file.ts";
import { maxLevels, maxRootBits } from "./hash-index.ts";

export const trieTableHeaderBytes = 32;
export const subtrieBitsAt = 8;
export const flagsAt = 9;
export const hashBitsAt = 10;
export const dataSizeAt = 12;
export const rootAt = 16;
export const allocatorAt = 24;
export const subtrieHeaderBytes = 8;

/** Bytes of a subtrie of `bits` bits: the header and its slots. */
export function subtrieBytes(bits: number): number {
  return subtrieHeaderBytes + (8 << bits);
}

/** A trie table's stored fields (readTrieTableHeader). */
export interface TrieTableHeader {
  hashBits: number;
  dataBytes: number;
  subtrieBits: number;
  flags: number;
}

/**
 * The stored fields of a trie table, checked for what every trie needs (the
 * library's judge compares them with what the caller asked; `mapped-file-arena
 * inspect` takes them as they are): the header below the bump pointer, and the
 * name right after it, where LLVM writes it. The table's end (table.end, the
 * floor below which no node may start) comes from the name's place: a name
 * inside the header would let a slot point at the header as a record.
 */
export function readTrieTableHeader(views: ByteViews, table: RootTable, size: number, path: string): TrieTableHeader {
  const { view } = views;
  if (table.offset + trieTableHeaderBytes > size) throw corruptAt(path, table.offset, "the trie table header runs past the bump pointer");
  if (table.nameRelOffset !== trieTableHeaderBytes) {
    throw corruptAt(path, table.offset + 4, `table name offset ${table.nameRelOffset} is not right after the ${trieTableHeaderBytes}-byte trie header`);
  }
  return {
    hashBits: view.getUint16(table.offset + hashBitsAt, true),
    dataBytes: view.getUint32(table.offset + dataSizeAt, true),
    subtrieBits: view.getUint8(table.offset + subtrieBitsAt),
    flags: view.getUint8(table.offset + flagsAt),
  };
}

const twoTo31 = 2n ** 31n;

/** %TypedArray%.prototype's own getters, which no subclass can override (see TrieLayout.#wordsOf). */
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
function intrinsicGetter<T>(name: string): (this: Uint8Array) => T {
  return Object.getOwnPropertyDescriptor(typedArrayPrototype, name)!.get! as (this: Uint8Array) => T;
}
const typedArrayBuffer = intrinsicGetter<ArrayBuffer>("buffer");
const typedArrayByteOffset = intrinsicGetter<number>("byteOffset");
const typedArrayLength = intrinsicGetter<number>("length");
/** Int32Array reads in the platform's byte order; hashEquals assembles words little-endian. */
const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Whether words [first, first + 8) of `int32` equal `key` (a 256-bit hash): one
 * expression, no loop (a loop with an early exit here measured ~1.5x slower
 * lookups: see findQuick).
 */
function sameEightWords(int32: Int32Array, first: number, key: Int32Array): boolean {
  return (
    int32[first] === key[0] && int32[first + 1] === key[1] && int32[first + 2] === key[2] && int32[first + 3] === key[3] &&
    int32[first + 4] === key[4] && int32[first + 5] === key[5] && int32[first + 6] === key[6] && int32[first + 7] === key[7]
  );
}

/** A record as the API hands it out: views of the mapping, valid until close. */
export interface TrieRecord {
  /** File offset of the record (of its data); what LLVM calls its FileOffset. */
  readonly offset: number;
  /** The record's hash, a view of the file. Do not write to it. */
  readonly hash: Uint8Array;
  /** The record's data, a view of the file (dataBytes long). */
  readonly data: Uint8Array;
}

/** What a read-only opener's layout needs of its file (DatabaseFile). */
export interface ReadOnlyFile {
  /** Views covering at least as far as the bump pointer last read. */
  latestViews(): MappingViews;
  /** A view for a caller, never over the pages the library reads (DatabaseFile.handoutView). */
  handoutView(offset: number, length: number): Uint8Array;
}

export interface TrieShape {
  hashBits: number;
  dataBytes: number;
  subtrieBits: number;
}

/** Checked reads of one open trie. Owned by OnDiskTrieRawHashMap; shared with the walker. */
export class TrieLayout {
  readonly path: string;
  bytes: Uint8Array;
  int32: Int32Array;
  int64: BigInt64Array;
  view: DataView;
  /** Atomics.load for a writer; loads that never copy a page for a read-only opener. */
  loads: WordLoads;
  readonly hashBits: number;
  readonly hashBytes: number;
  readonly dataBytes: number;
  /** Data and hash, unpadded; the allocation is this rounded up to 8. */
  readonly recordBytes: number;
  readonly subtrieBits: number;
  readonly table: RootTable;
  /** No subtrie or record can start below this: the end of the table's allocation. */
  readonly floor: number;
  /** A bump pointer seen earlier: everything below it is allocated. Refreshed when a check needs more. */
  knownEnd: number;
  /** The root subtrie's offset, or 0 while the table has none (LLVM creates it lazily then). */
  rootOffset = 0;
  rootBits = 0;
  /** Levels a walk can take at most (hash-index.ts maxLevels); set with the root. */
  maxLevels = 0;
  /**
   * The highest offset a record, or a child of subtrieBits bits, can start at
   * below knownEnd: find's bounds check is one comparison each. Kept with knownEnd.
   */
  recordLimit = 0;
  childLimit = 0;
  /**
   * findQuick serves this trie: 256-bit hashes compared as words, every level
   * below the root as wide as subtrieBits (none narrowed at the hash's end),
   * plain slot loads. Set with the root.
   */
  quickWalk = false;
  /** Hashes can be compared a word at a time: little-endian, whole words, 4-aligned in every record. */
  readonly wordHashes: boolean;
  /**
   * Slots read with Atomics.load instead of plain loads: only a read-only opener
   * handed the writers' loads, which only the broken variant "atomic-loads"
   * (lib/arena/read-only-testing.ts) does, so the read-only tests can show the
   * page copies that plain loads avoid. A predictable branch on the hot path.
   */
  readonly slotLoadsAtomic: boolean;
  readonly #bumpPointer: () => number;
  readonly #readOnlyFile: ReadOnlyFile | undefined;

  /**
   * `bumpPointer` reads the current bump pointer (the arena's size, or a snapshot's
   * end). `readOnlyFile`, for a read-only opener: views that follow the file as
   * it grows, and the buffer for views handed to callers (DatabaseFile).
   */
  constructor(path: string, bumpPointer: () => number, views: MappingViews, table: RootTable, shape: TrieShape, readOnlyFile?: ReadOnlyFile) {
    this.path = path;
    this.#bumpPointer = bumpPointer;
    this.#readOnlyFile = readOnlyFile;
    this.bytes = views.bytes;
    this.int32 = views.int32;
    this.int64 = views.int64;
    this.view = views.view;
    this.loads = views.loads;
    this.hashBits = shape.hashBits;
    this.hashBytes = shape.hashBits / 8;
    this.dataBytes = shape.dataBytes;
    this.recordBytes = shape.dataBytes + this.hashBytes;
    this.subtrieBits = shape.subtrieBits;
    this.table = table;
    this.floor = table.end;
    this.wordHashes = littleEndian && this.hashBytes % 4 === 0 && this.dataBytes % 4 === 0;
    this.slotLoadsAtomic = readOnlyFile !== undefined && views.loads === atomicWordLoads;
    this.knownEnd = 0;
    if (trieVariant.broken === "bump-pointer-past-views") this.#setKnownEnd(bumpPointer());
    else this.refreshEnd();
  }

  /**
   * Reads the bump pointer again; it only grows. A read-only file's views follow
   * it. The one place knownEnd is set, and it never passes the views: every
   * check against knownEnd (or the limits kept with it) is then also a bounds
   * check. (A read-only arena's view grows when its size is read: a bump pointer
   * taken after the views were made may be past them, until latestViews.)
   */
  refreshEnd(): number {
    const end = this.#bumpPointer();
    if (end > this.bytes.length && this.#readOnlyFile !== undefined) this.#adoptViews(this.#readOnlyFile.latestViews());
    this.#setKnownEnd(end < this.bytes.length ? end : this.bytes.length);
    return this.knownEnd;
  }

  #setKnownEnd(end: number): void {
    this.knownEnd = end;
    this.recordLimit = end - this.recordBytes;
    this.childLimit = end - subtrieBytes(this.subtrieBits);
  }

  #adoptViews(views: MappingViews): void {
    this.bytes = views.bytes;
    this.int32 = views.int32;
    this.int64 = views.int64;
    this.view = views.view;
    this.loads = views.loads;
  }

  /** The table's root word, read atomically; 0 if there is no root yet. */
  storedRoot(): number {
    const stored = this.loads.int64(this.int64, (this.table.offset + rootAt) >>> 3);
    if (stored === 0n) return 0;
    if (stored < 0n || stored >= twoTo31) {
      throw corruptAt(this.path, this.table.offset + rootAt, `root subtrie offset 0x${stored.toString(16)} is outside the file`);
    }
    return Number(stored);
  }

  /** Checks the root subtrie at `offset` and makes it this trie's root. */
  adoptRoot(offset: number): void {
    const where = this.table.offset + rootAt;
    if (offset % 8 !== 0 || offset < this.floor) throw corruptAt(this.path, where, `root subtrie offset 0x${offset.toString(16)} is not an allocation after the table`);
    if (offset + subtrieHeaderBytes > this.knownEnd && offset + subtrieHeaderBytes > this.refreshEnd()) {
      throw corruptAt(this.path, where, `root subtrie offset 0x${offset.toString(16)} is past the bump pointer 0x${this.knownEnd.toString(16)}`);
    }
    const startBit = this.view.getUint16(offset, true);
    const bits = this.bytes[offset + 2]!;
    if (startBit !== 0) throw corruptAt(this.path, offset, `the root subtrie starts at bit ${startBit}, not 0`);
    if (bits < 1 || bits > maxRootBits) throw corruptAt(this.path, offset, `the root subtrie has ${bits} bits (1..${maxRootBits} allowed)`);
    if (offset + subtrieBytes(bits) > this.knownEnd && offset + subtrieBytes(bits) > this.refreshEnd()) {
      throw corruptAt(this.path, offset, `the root subtrie (${bits} bits) runs past the bump pointer 0x${this.knownEnd.toString(16)}`);
    }
    this.rootBits = bits;
    this.rootOffset = offset;
    this.maxLevels = maxLevels(bits, this.subtrieBits, this.hashBits);
    this.quickWalk = this.wordHashes && this.hashBytes === 32 && !this.slotLoadsAtomic && (this.hashBits - bits) % this.subtrieBits === 0;
  }

  /**
   * find's lookup, first of two walks: the record's offset, -1 if the hash is
   * absent, or 0 when only findChecked can tell (OnDiskTrieRawHashMap.findOffset
   * then asks it). findQuick answers the common cases with nothing on its path
   * but the loads; findChecked, which checks every value before it uses it,
   * answers the rest and says what is wrong with a corrupt file.
   *
   * Why two: a lookup waits on two or three cache misses in a row, and the
   * processor can start the next lookup's misses while this one waits only if
   * the instructions between them fit its reorder window (a few hundred). Every
   * check on the path adds instructions per level, and so do a call out, a
   * fence (Atomics.load) or a loop with early exits for the hash compare.
   * Measured side by side (a scratch copy of bench/trie.ts, 1 M keys, keys
   * reused in one buffer): findChecked alone runs at ~1.9x the C walk's time
   * per lookup, findQuick at 1.0-1.2x, hits and misses alike.
   *
   * How much JavaScriptCore keeps of that depends on the caller's loop: it
   * hoists the map's fields out of a loop only while nothing in the loop may
   * call out. A loop that allocates (find's record, anything else) or that has
   * taken one of findOffset's slow paths since the JIT profiled it runs at
   * ~1.8x the C walk; docs/trie.md has the figures.
   *
   * Serves 256-bit hashes compared as words (quickWalk, set only once a root is
   * adopted), passed in an array seen before (its word view is kept: see
   * hashEquals). A hit is checked once, at the end: an aligned record after the
   * table, inside the views, that holds exactly the caller's hash is the
   * answer, whatever the slots on the way held. Not against knownEnd: records
   * published since it was last read (by any process, this one included) are
   * the common case, and sending them to findChecked would put its call on
   * the hot path; a published record is below the bump pointer, and only a
   * crafted file can point past it at bytes that equal the key (inside the
   * views, so reading them is safe).
   */
  findQuick(hash: Uint8Array): number {
    const keyWords = hash === this.#lastHash ? this.#lastHashWords : null;
    if (keyWords === null || !this.quickWalk) return 0;
    const found = this.#findUnchecked(hash, keyWords);
    if (found > 0) return (found & 7) === 0 && found >= this.floor ? found : 0;
    return found;
  }

  /**
   * The walk itself, nothing checked on the way: every read is inside the views
   * or undefined (JavaScript typed arrays never fault), and the loop is bounded
   * by maxLevels. Returns the record holding `key` (the hash as 8 words), -1 for
   * an empty slot or a record holding another hash read inside the views (a
   * miss: the first record on the path decides, as in findChecked), or 0 for
   * anything else: a read past the views (a read-only opener's file grew), a
   * walk deeper than the hash. Only a corrupt file can make it answer -1 for a
   * hash that validate() would find: find trusts the slots it follows as far as
   * that, and validate() and insert() check every node. Past the hash's last
   * byte, hash[] is undefined and shifts as 0, as in indexAt.
   */
  #findUnchecked(hash: Uint8Array, key: Int32Array): number {
    const int32 = this.int32;
    const levels = this.maxLevels;
    const subtrieBits = this.subtrieBits;
    const dataBytes = this.dataBytes;
    let subtrie = this.rootOffset;
    let startBit = 0;
    let bits = this.rootBits;
    for (let level = 0; level < levels; level++) {
      const byte = startBit >>> 3;
      const window = (hash[byte]! << 16) | (hash[byte + 1]! << 8) | hash[byte + 2]!;
      const index = (window >>> (24 - (startBit & 7) - bits)) & ((1 << bits) - 1);
      const value = int32[((subtrie >>> 2) + 2 + (index << 1)) | 0]!;
      if (value < 0) {
        startBit = (startBit + bits) | 0;
        bits = subtrieBits;
        subtrie = -value | 0;
        continue;
      }
      if (value > 0) {
        const first = (value + dataBytes) >> 2;
        if (sameEightWords(int32, first, key)) return value;
        return first + 8 <= int32.length ? -1 : 0;
      }
      return value === 0 ? -1 : 0;
    }
    return 0;
  }

  /**
   * find's checked walk (after findQuick): nothing allocated, no call unless a check fails,
   * every check of requireSubtrie and isRecord made inline first as one or two
   * comparisons against limits kept with knownEnd (recordLimit, childLimit), the
   * slow versions called only to refresh knownEnd or to say what is wrong. Each
   * level starts further into the hash (the child's header must say so), and
   * the loop is bounded by maxLevels all the same.
   */
  findChecked(hash: Uint8Array): number {
    let int32 = this.int32;
    // The caller's key as words, when it passes the same 4-aligned array again (see hashEquals).
    const keyWords = hash === this.#lastHash && this.wordHashes ? this.#lastHashWords : null;
    // Integer arithmetic below is `| 0`: the JIT then checks no overflow, and
    // keeps fewer values alive for the checks it would bail out from.
    const length = hash.length;
    const hashBits = this.hashBits;
    const floor = this.floor;
    const subtrieBits = this.subtrieBits;
    const levels = this.maxLevels;
    const atomicLoads = this.slotLoadsAtomic;
    let subtrie = this.rootOffset;
    let startBit = 0;
    let nominalBits = this.rootBits;
    for (let level = 0; level < levels; level++) {
      const left = (hashBits - startBit) | 0;
      const bits = nominalBits < left ? nominalBits : left;
      // indexAt (hash-index.ts), inline; `length` rather than hashBytes lets the
      // JIT drop the bounds checks the conditions already make.
      const byte = startBit >>> 3;
      let window = hash[byte]! << 16;
      if (byte + 1 < length) window |= hash[byte + 1]! << 8;
      if (byte + 2 < length) window |= hash[byte + 2]!;
      const index = (window >>> (24 - (startBit & 7) - bits)) & ((1 << bits) - 1);
      const word = ((subtrie >>> 2) + 2 + (index << 1)) | 0;
      // loadSlot, inline: the low word is the value; the high word must agree.
      let value = atomicLoads ? Atomics.load(int32, word) : int32[word]!;
      if (int32[word + 1] !== value >> 31) {
        value = this.#settledSlot(word << 2);
        int32 = this.int32;
      }
      if (value === 0) return -1;
      if (value > 0) {
        if ((value & 7) !== 0 || value < floor || value > this.recordLimit) {
          if (!this.isRecord(value)) this.requireRecord(value, word << 2);
          int32 = this.int32;
        }
        // The first record on the path decides: insert sinks a resident record
        // before it places a different hash below it.
        if (keyWords === null) return this.hashEquals(value, hash) ? value : -1;
        const first = (value + this.dataBytes) >> 2;
        if (keyWords.length === 8) return sameEightWords(int32, first, keyWords) ? value : -1;
        for (let w = 0; w < keyWords.length; w++) {
          if (int32[first + w] !== keyWords[w]) return -1;
        }
        return value;
      }
      startBit = (startBit + nominalBits) | 0;
      nominalBits = subtrieBits;
      // A child at or below childLimit, 8-aligned, whose header (start bit u16,
      // bit count u8) says it is the level that starts here, as wide as the bits
      // the hash has left for it (a last level may be narrower than subtrieBits);
      // anything else goes to requireSubtrie, which checks it exactly or throws.
      // (A narrow last child near the bump pointer fails childLimit, made for a
      // full-width one, and is checked there too.)
      const childLeft = (hashBits - startBit) | 0;
      const childHeader = startBit | ((childLeft < subtrieBits ? childLeft : subtrieBits) << 16);
      const child = -value | 0;
      if ((child & 7) !== 0 || child < floor || child > this.childLimit || (int32[child >> 2]! & 0xffffff) !== childHeader) {
        this.requireSubtrie(-value, startBit, word << 2);
        int32 = this.int32;
      }
      subtrie = child;
    }
    throw corruptAt(this.path, subtrie, `the walk for a hash went deeper than ${levels} levels`);
  }

  /**
   * The value of the slot at file offset `slot`: 0, a record offset (positive) or
   * minus a child's offset. Throws ERR_ARENA_CORRUPT for a value no writer stores.
   * Always a 32-bit integer, so the walk's arithmetic stays in integers (a double
   * offset would send every typed-array access down a slow path).
   */
  loadSlot(slot: number): number {
    const int32 = this.int32;
    // `>>> 2`, not `/ 4`: a division gives a double, and a double index sends
    // typed-array reads down their generic path. Plain loads for writers and
    // read-only openers alike (no `this.loads`): see the comment at the top.
    const word = slot >>> 2;
    const low = this.slotLoadsAtomic ? Atomics.load(int32, word) : int32[word]!;
    // Every state a writer leaves has high === low >> 31 (empty 0:0, a record
    // 0:offset, a child -1:-offset), and the low word alone tells them apart; so
    // an agreeing pair's low word is a value the slot held. A mismatch is a child
    // published between the two loads, or a value no writer stores.
    if (int32[word + 1] === low >> 31) return low;
    return this.#settledSlot(slot);
  }

  /** A slot read again with one 64-bit load: a state that changed under us, or a value no writer stores. */
  #settledSlot(slot: number): number {
    const value = this.loads.int64(this.int64, slot >>> 3);
    if (value > -twoTo31 && value < twoTo31) return Number(value);
    throw corruptAt(this.path, slot, `slot value 0x${BigInt.asUintN(64, value).toString(16)} points outside the file`);
  }

  /** True if a record can start at `record`: aligned, after the table, wholly below the bump pointer. */
  isRecord(record: number): boolean {
    if ((record & 7) !== 0 || record < this.floor) return false;
    const end = record + this.recordBytes;
    return end <= this.knownEnd || end <= this.refreshEnd();
  }

  /** Throws unless isRecord; `slot` is where the offset was read. */
  requireRecord(record: number, slot: number): void {
    if (!this.isRecord(record)) {
      throw corruptAt(this.path, slot, `slot points at 0x${record.toString(16)}, which is not a ${this.recordBytes}-byte record after the table and below the bump pointer 0x${this.knownEnd.toString(16)}`);
    }
  }

  /**
   * Checks a child subtrie that a slot at `slot` points at, for the level that
   * starts at `startBit`, and returns the level's index bits. A child must start
   * where its parent ends: so no walk can revisit a level, and every walk ends
   * within the hash's bit count.
   */
  requireSubtrie(child: number, startBit: number, slot: number): number {
    const left = this.hashBits - startBit;
    const bits = this.subtrieBits < left ? this.subtrieBits : left;
    const end = child + subtrieHeaderBytes + (8 << bits);
    const fits = bits > 0 && (child & 7) === 0 && child >= this.floor && (end <= this.knownEnd || end <= this.refreshEnd());
    const bytes = this.bytes; // after refreshEnd, which may have replaced the views
    if (fits && (bytes[child]! | (bytes[child + 1]! << 8)) === startBit && bytes[child + 2] === bits) return bits;
    return this.#badSubtrie(child, startBit, slot, bits);
  }

  /** requireSubtrie's slow path: says what is wrong. Kept apart so the check stays small enough to inline. */
  #badSubtrie(child: number, startBit: number, slot: number, bits: number): never {
    const bytes = this.bytes;
    if (bits <= 0) throw corruptAt(this.path, slot, `slot points at a subtrie for bit ${startBit}, past the ${this.hashBits}-bit hash`);
    if ((child & 7) !== 0 || child < this.floor) throw corruptAt(this.path, slot, `slot points at 0x${child.toString(16)}, which is not a subtrie after the table`);
    if (child + subtrieBytes(bits) > this.knownEnd) {
      throw corruptAt(this.path, slot, `slot points at a ${bits}-bit subtrie at 0x${child.toString(16)} that runs past the bump pointer 0x${this.knownEnd.toString(16)}`);
    }
    const storedStart = bytes[child]! | (bytes[child + 1]! << 8);
    throw corruptAt(this.path, child, `subtrie header says start bit ${storedStart} and ${bytes[child + 2]} bits, its place in the trie says start bit ${startBit} and ${bits} bits`);
  }

  /**
   * Whether the record at `record` (checked) holds `hash`. The lookup's largest
   * cost after its cache misses: compared 4 bytes at a time when the stored hash
   * is 4-aligned (whenever dataBytes is a multiple of 4). The caller's bytes are
   * read as words through an Int32Array view when it passes the same 4-aligned
   * array again (a reused key buffer, the common loop), else assembled from
   * bytes: a view costs an allocation, worth it only for an array seen twice.
   * (The last array compared stays referenced until a lookup with another one.)
   */
  hashEquals(record: number, hash: Uint8Array): boolean {
    const at = record + this.dataBytes;
    const length = this.hashBytes;
    let index = 0;
    if ((at & 3) === 0 && littleEndian) {
      const int32 = this.int32;
      const firstWord = at >>> 2;
      const words = length >>> 2;
      const keyWords = hash === this.#lastHash ? this.#lastHashWords ?? this.#wordsOf(hash) : this.#remember(hash);
      if (keyWords !== null) {
        for (let word = 0; word < words; word++) {
          if (int32[firstWord + word] !== keyWords[word]) return false;
        }
      } else {
        for (let word = 0; word < words; word++) {
          const byte = word << 2;
          const expected = hash[byte]! | (hash[byte + 1]! << 8) | (hash[byte + 2]! << 16) | (hash[byte + 3]! << 24);
          if (int32[firstWord + word] !== expected) return false;
        }
      }
      index = words << 2;
    }
    const bytes = this.bytes;
    for (; index < length; index++) {
      if (bytes[at + index] !== hash[index]) return false;
    }
    return true;
  }

  /** Whether the record at `record` (checked) holds the hash at `hashes[base .. base + hashBytes)`, byte by byte. */
  hashBytesEqual(record: number, hashes: Uint8Array, base: number): boolean {
    const bytes = this.bytes;
    const at = record + this.dataBytes;
    for (let index = 0; index < this.hashBytes; index++) {
      if (bytes[at + index] !== hashes[base + index]) return false;
    }
    return true;
  }

  /** The hash array last compared, and its word view once it came a second time (null: not yet, or unaligned). */
  #lastHash: Uint8Array | null = null;
  #lastHashWords: Int32Array | null = null;
  #lastHashAligned = false;

  #remember(hash: Uint8Array): null {
    this.#lastHash = hash;
    this.#lastHashWords = null;
    this.#lastHashAligned = (typedArrayByteOffset.call(hash) & 3) === 0;
    return null;
  }

  /**
   * The word view over the same bytes as `hash`'s elements. Through the
   * intrinsic getters: a subclass may override byteOffset, buffer or length,
   * and the view must cover what the walk reads as hash[i], not what they say.
   */
  #wordsOf(hash: Uint8Array): Int32Array | null {
    if (!this.#lastHashAligned) return null;
    this.#lastHashWords = new Int32Array(typedArrayBuffer.call(hash), typedArrayByteOffset.call(hash), typedArrayLength.call(hash) >>> 2);
    return this.#lastHashWords;
  }

  /** The record at a checked offset; its views are made when first read. */
  record(offset: number): TrieRecord {
    return new LazyTrieRecord(this, offset);
  }

  /** A view for a caller of checked bytes: a writer's over the mapping, a read-only opener's from DatabaseFile.handoutView. */
  handoutView(offset: number, length: number): Uint8Array {
    if (this.#readOnlyFile !== undefined) return this.#readOnlyFile.handoutView(offset, length);
    const buffer = this.bytes.buffer as ArrayBuffer;
    return buffer.byteLength === 0 ? new Uint8Array(0) : new Uint8Array(buffer, offset, length);
  }
}

/**
 * A record whose `data` and `hash` views are made on first access, then kept.
 * Why: a view of the mapping costs ~100 ns and garbage-collector work, more than
 * the lookup's own walk, and most callers of find read only one of the two, or
 * only `offset`. The object itself is one small allocation with a fixed shape.
 * A view first asked for after close reads as empty, like the views made before.
 */
class LazyTrieRecord implements TrieRecord {
  readonly offset: number;
  #layout: TrieLayout;
  #data: Uint8Array | null = null;
  #hash: Uint8Array | null = null;

  constructor(layout: TrieLayout, offset: number) {
    this.#layout = layout;
    this.offset = offset;
  }

  get data(): Uint8Array {
    return (this.#data ??= this.#layout.handoutView(this.offset, this.#layout.dataBytes));
  }

  get hash(): Uint8Array {
    return (this.#hash ??= this.#layout.handoutView(this.offset + this.#layout.dataBytes, this.#layout.hashBytes));
  }
}
