/**
 * An independent reader of the trie file's layout (LLVM's DatabaseFile with one
 * OnDiskTrieRawHashMap table), for the tests that corrupt files on purpose: it
 * finds where each header field, subtrie and slot sits in a healthy file, so a
 * mutation can aim at a structure rather than at random bytes. It is written from
 * LLVM's sources (llvm/lib/CAS/DatabaseFile.h, OnDiskTrieRawHashMap.cpp), not
 * from lib/trie, so a test that uses it also checks the library's format.
 *
 *   0   DatabaseFile header: magic u32 (0xDA7ABA53), version u32, root table offset i64
 *   16  arena header: bumpPtr, allocatedSize, capacity, headerOffset (i64 each)
 *   48  table header (the arena's first allocation):
 *         kind u16, name size u16, name offset i32 (from the table), subtrie bits u8,
 *         flags u8, hash bits u16, record data size u32, root subtrie offset i64,
 *         allocator offset i64, name + NUL
 *   subtrie: start bit u16, bit count u8, 5 bytes of zeros, then 2^bits slots (i64):
 *         0 empty, > 0 a record's offset, < 0 minus a child subtrie's offset
 *   record: data, then the hash
 */
export const databaseHeader = { magic: 0, version: 4, rootTableOffset: 8, bytes: 16 } as const;
export const databaseMagic = 0xda7aba53;
export const arenaHeaderAt = databaseHeader.bytes;
export const arenaHeader = { bumpPtr: 0, allocatedSize: 8, capacity: 16, headerOffset: 24, bytes: 32 } as const;
export const tableHeader = {
  kind: 0,
  nameSize: 2,
  nameOffset: 4,
  subtrieBits: 8,
  flags: 9,
  hashBits: 10,
  recordDataSize: 12,
  rootSubtrieOffset: 16,
  allocatorOffset: 24,
  bytes: 32,
} as const;
export const subtrieHeader = { startBit: 0, bitCount: 2, bytes: 8 } as const;

export interface SubtrieAt {
  offset: number;
  startBit: number;
  bitCount: number;
  /** File offset of the parent's slot that points here; -1 for the root. */
  parentSlotAt: number;
  /** Offsets of the subtries above it, root first. */
  ancestors: number[];
}

export interface RecordSlotAt {
  /** File offset of the slot. */
  slotAt: number;
  /** The record's file offset (the slot's value). */
  recordOffset: number;
  /** The subtrie holding the slot, and the slot's index in it. */
  subtrie: number;
  index: number;
}

export interface TrieLayout {
  tableAt: number;
  recordDataSize: number;
  hashBytes: number;
  subtrieBits: number;
  root: number;
  subtries: SubtrieAt[];
  records: RecordSlotAt[];
  /** File offsets of every empty slot. */
  emptySlots: number[];
}

/** Reads the layout of a healthy trie file (its bytes up to the bump pointer); throws on anything unexpected. */
export function readTrieLayout(file: Uint8Array): TrieLayout {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (view.getUint32(databaseHeader.magic, true) !== databaseMagic) throw new Error("not a DatabaseFile (magic)");
  const tableAt = Number(view.getBigInt64(databaseHeader.rootTableOffset, true));
  const root = Number(view.getBigInt64(tableAt + tableHeader.rootSubtrieOffset, true));
  const layout: TrieLayout = {
    tableAt,
    recordDataSize: view.getUint32(tableAt + tableHeader.recordDataSize, true),
    hashBytes: view.getUint16(tableAt + tableHeader.hashBits, true) / 8,
    subtrieBits: view.getUint8(tableAt + tableHeader.subtrieBits),
    root,
    subtries: [],
    records: [],
    emptySlots: [],
  };
  const pending: SubtrieAt[] = [{ offset: root, startBit: 0, bitCount: 0, parentSlotAt: -1, ancestors: [] }];
  while (pending.length > 0) {
    const subtrie = pending.pop()!;
    subtrie.startBit = view.getUint16(subtrie.offset + subtrieHeader.startBit, true);
    subtrie.bitCount = view.getUint8(subtrie.offset + subtrieHeader.bitCount);
    layout.subtries.push(subtrie);
    if (layout.subtries.length > 1_000_000) throw new Error("layout walk did not end");
    for (let index = 0; index < 2 ** subtrie.bitCount; index++) {
      const slotAt = subtrie.offset + subtrieHeader.bytes + index * 8;
      const value = Number(view.getBigInt64(slotAt, true));
      if (value === 0) layout.emptySlots.push(slotAt);
      else if (value > 0) layout.records.push({ slotAt, recordOffset: value, subtrie: subtrie.offset, index });
      else pending.push({ offset: -value, startBit: 0, bitCount: 0, parentSlotAt: slotAt, ancestors: [...subtrie.ancestors, subtrie.offset] });
    }
  }
  return layout;
}

/** Bits [startBit, startBit + bitCount) of `hash`, most significant first: the slot index LLVM's index generator gives. */
export function slotIndex(hash: Uint8Array, startBit: number, bitCount: number): number {
  let index = 0;
  for (let bit = startBit; bit < startBit + bitCount && bit < hash.length * 8; bit++) {
    index = index * 2 + ((hash[bit >> 3]! >> (7 - (bit & 7))) & 1);
  }
  return index;
}
