/**
 * The two tables a generation is made of, as the store sees them: a hash index
 * (LLVM's OnDiskTrieRawHashMap: fixed-size records of [data][hash], found by hash,
 * inserted lock-free, first insert wins) and a data pool (LLVM's OnDiskDataAllocator:
 * an arena with a small user header). The store depends only on these interfaces,
 * so the tables behind them can change without touching it.
 */

/** One index record: `data` is a live view of its `dataBytes` in the mapping. */
export interface IndexRecord {
  /** The record's file offset: stable, so it can name the record. */
  readonly offset: number;
  readonly hash: Uint8Array;
  readonly data: Uint8Array;
}

export interface HashIndex {
  /** The record for `hash`, or null. */
  find(hash: Uint8Array): IndexRecord | null;
  /**
   * The record for `hash`, inserting it if it is new. `fill` writes the new
   * record's data before anyone can see it; it may run for a record that then
   * loses a race and is never published (the winner is returned).
   */
  insert(hash: Uint8Array, fill: (data: Uint8Array) => void): IndexRecord;
  /** Every published record, once each (bounded by the file). */
  records(): Iterable<IndexRecord>;
  /** Problems in the table's own structure, as sentences; empty when sound. */
  check(): string[];
  readonly sizeBytes: number;
  readonly capacityBytes: number;
  readonly path: string;
  close(): void;
}

export interface DataPool {
  /** The offset of a new allocation of `size` bytes (8-aligned). */
  allocate(size: number): number;
  /** A live view of `size` bytes at `offset`; RangeError outside what was allocated. */
  bytes(offset: number, size: number): Uint8Array;
  /** The pool's own header bytes for its user (8-aligned, zero when created). */
  readonly userHeader: Uint8Array;
  readonly sizeBytes: number;
  readonly capacityBytes: number;
  /** Where allocations start: offsets below it are not records. */
  readonly firstOffset: number;
  readonly path: string;
  close(): void;
}
