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
 * Why every read is checked: the slots and headers come from a file that another
 * process, an older version or a disk error may have written. A slot value is used
 * as an index into the mapping only after it is known to be 8-aligned, past the
 * table and below the bump pointer with room for what it points at, and a child's
 * header must say it starts where its parent ends. Depth is then bounded by the
 * hash's bit count, because each level starts further into the hash. LLVM checks
 * none of this on find or insert, so a bad slot there reads out of bounds or loops.
 *
 * Slots are read as two 32-bit atomic loads, not one 64-bit load: a BigInt64Array
 * load boxes a BigInt (~20 ns here), the two loads cost ~3 ns. That is safe only
 * because of how slots change: 0, then a record (high word 0), then a child
 * (high word -1), never back; and offsets are below 2^32 (the mapping is at most
 * 4 GiB). Reading high, low, and (when the pair says "record") high again, an
 * unchanged high word proves the low word belongs to the same state. Anything
 * else is reread with a 64-bit load before it is called corrupt.
 */
import type { MappedFileRegionArena } from "../arena/arena.ts";
import { corruptAt } from "./corruption.ts";
import type { MappingViews, RootTable } from "./database-file.ts";
import { indexBits, maxRootBits } from "./hash-index.ts";

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
  return subtrieHeaderBytes + 8 * 2 ** bits;
}

const twoTo32 = 4294967296;

/** A record as the API hands it out: views of the mapping, valid until close. */
export interface TrieRecord {
  /** File offset of the record (of its data); what LLVM calls its FileOffset. */
  offset: number;
  /** The record's hash, a view of the file. Do not write to it. */
  hash: Uint8Array;
  /** The record's data, a view of the file (dataBytes long). */
  data: Uint8Array;
}

export interface TrieShape {
  hashBits: number;
  dataBytes: number;
  subtrieBits: number;
}

/** Checked reads of one open trie. Owned by OnDiskTrieRawHashMap; shared with the walker. */
export class TrieLayout {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly int32: Int32Array;
  readonly int64: BigInt64Array;
  readonly view: DataView;
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
  readonly #arena: MappedFileRegionArena;

  constructor(arena: MappedFileRegionArena, views: MappingViews, table: RootTable, shape: TrieShape) {
    this.path = arena.path;
    this.#arena = arena;
    this.bytes = views.bytes;
    this.int32 = views.int32;
    this.int64 = views.int64;
    this.view = views.view;
    this.hashBits = shape.hashBits;
    this.hashBytes = shape.hashBits / 8;
    this.dataBytes = shape.dataBytes;
    this.recordBytes = shape.dataBytes + this.hashBytes;
    this.subtrieBits = shape.subtrieBits;
    this.table = table;
    this.floor = table.end;
    this.knownEnd = arena.size;
  }

  /** Reads the bump pointer again; it only grows. */
  refreshEnd(): number {
    this.knownEnd = this.#arena.size;
    return this.knownEnd;
  }

  /** The table's root word, read atomically; 0 if there is no root yet. */
  storedRoot(): number {
    const stored = Atomics.load(this.int64, (this.table.offset + rootAt) / 8);
    if (stored === 0n) return 0;
    if (stored < 0n || stored >= BigInt(twoTo32)) {
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
  }

  /**
   * The value of the slot at file offset `slot`: 0, a record offset (positive) or
   * minus a child's offset. Throws ERR_ARENA_CORRUPT for a value no writer stores.
   */
  loadSlot(slot: number): number {
    const int32 = this.int32;
    const word = slot / 4;
    let high = Atomics.load(int32, word + 1);
    let low = Atomics.load(int32, word);
    if (high === 0 && low !== 0 && Atomics.load(int32, word + 1) !== 0) {
      // It became a child between the loads; that state is final.
      high = Atomics.load(int32, word + 1);
      low = Atomics.load(int32, word);
    }
    if (high === 0) return low >>> 0;
    if (high === -1 && low !== 0) return (low >>> 0) - twoTo32;
    return this.#wideSlot(slot);
  }

  /** A slot whose value does not fit 32 bits: confirm with one 64-bit load, then refuse it. */
  #wideSlot(slot: number): number {
    const value = Atomics.load(this.int64, slot / 8);
    if (value >= 0n && value < BigInt(twoTo32)) return Number(value);
    if (value < 0n && value > -BigInt(twoTo32)) return Number(value);
    throw corruptAt(this.path, slot, `slot value 0x${BigInt.asUintN(64, value).toString(16)} points outside the file`);
  }

  /** True if a record can start at `record`: aligned, after the table, wholly below the bump pointer. */
  isRecord(record: number): boolean {
    if (record % 8 !== 0 || record < this.floor) return false;
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
    const bits = indexBits(this.subtrieBits, startBit, this.hashBits);
    const bytes = this.bytes;
    if (bits === 0) throw corruptAt(this.path, slot, `slot points at a subtrie for bit ${startBit}, past the ${this.hashBits}-bit hash`);
    if (child % 8 !== 0 || child < this.floor) throw corruptAt(this.path, slot, `slot points at 0x${child.toString(16)}, which is not a subtrie after the table`);
    const end = child + subtrieBytes(bits);
    if (end > this.knownEnd && end > this.refreshEnd()) {
      throw corruptAt(this.path, slot, `slot points at a ${bits}-bit subtrie at 0x${child.toString(16)} that runs past the bump pointer 0x${this.knownEnd.toString(16)}`);
    }
    if ((bytes[child]! | (bytes[child + 1]! << 8)) !== startBit || bytes[child + 2] !== bits) {
      throw corruptAt(this.path, child, `subtrie header says start bit ${bytes[child]! | (bytes[child + 1]! << 8)} and ${bytes[child + 2]} bits, its place in the trie says start bit ${startBit} and ${bits} bits`);
    }
    return bits;
  }

  /** Whether the record at `record` (checked) holds `hash`. */
  hashEquals(record: number, hash: Uint8Array): boolean {
    const bytes = this.bytes;
    const at = record + this.dataBytes;
    const length = this.hashBytes;
    for (let index = 0; index < length; index++) {
      if (bytes[at + index] !== hash[index]) return false;
    }
    return true;
  }

  /** The record at a checked offset, as views. */
  record(offset: number): TrieRecord {
    const buffer = this.bytes.buffer as ArrayBuffer;
    return {
      offset,
      data: new Uint8Array(buffer, offset, this.dataBytes),
      hash: new Uint8Array(buffer, offset + this.dataBytes, this.hashBytes),
    };
  }
}
