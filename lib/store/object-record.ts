/**
 * The bytes of a stored object, and the 8-byte index word that says where they are.
 *
 * Index word (the trie record's data, as LLVM's TrieRecord): one 64-bit word, read
 * and written atomically. Top byte: the storage kind; low 56 bits: the offset of
 * the object's record in the data pool (0 for a file of its own). 0 means "no
 * object yet" (LLVM's Unknown): a reader treats it as absent.
 *
 * Object record (in the pool, or a whole large-object file for a node):
 *
 *   u64le data length | u32le ref count | u32le 0 | ref ids, 32 bytes each | data
 *
 * 16 bytes of header (LLVM packs its header into 4 to 24 bytes; a fixed 16 costs
 * little at the sizes a cache holds and leaves no decoding branch). Refs are whole
 * ids, not index offsets as in LLVM: 24 more bytes a ref, but a record means the
 * same thing in every generation, so copying it forward is a byte copy. A large
 * leaf's file is its bytes and nothing else.
 */
import type { WordLoads } from "../arena/word-loads.ts";
import { idBytes } from "./hashing.ts";

export const StorageKind = {
  /** No object yet: the word is 0. */
  none: 0,
  /** A record in the generation's data pool, at the word's offset. */
  pool: 1,
  /** A file of its own holding a whole record (a large node). LLVM's Standalone. */
  recordFile: 10,
  /** A file of its own holding exactly the bytes (a large leaf). LLVM's StandaloneLeaf. */
  leafFile: 11,
} as const;
export type StorageKind = (typeof StorageKind)[keyof typeof StorageKind];

export const recordHeaderBytes = 16;
/** Objects of this many record bytes and more get a file of their own (LLVM: 64 KiB). */
export const largeObjectBytes = 64 * 1024;
/** The most refs one object may hold (a bound for every loop over a stored count). */
export const maxRefs = 1 << 20;

export function recordBytes(dataLength: number, refCount: number): number {
  return recordHeaderBytes + refCount * idBytes + dataLength;
}

/** Writes the header and refs of a record into `into` (whose length is the record's); the caller copies the data. */
export function writeRecordHeader(into: Uint8Array, dataLength: number, refs: Uint8Array, refCount: number): void {
  writeLittleEndian(into, 0, dataLength, 8);
  writeLittleEndian(into, 8, refCount, 4);
  writeLittleEndian(into, 12, 0, 4);
  if (refCount > 0) into.set(refs.subarray(0, refCount * idBytes), recordHeaderBytes);
}

/** Reads `bytes` little-endian bytes at `at` as a number (past 2^53 it is not a safe integer). */
function readLittleEndian(from: Uint8Array, at: number, bytes: number): number {
  let value = 0;
  for (let index = bytes - 1; index >= 0; index--) value = value * 256 + from[at + index]!;
  return value;
}

/** Writes `value` (a safe integer) as `bytes` little-endian bytes: no DataView, no BigInt. */
function writeLittleEndian(into: Uint8Array, at: number, value: number, bytes: number): void {
  let rest = value;
  for (let index = 0; index < bytes; index++) {
    into[at + index] = rest % 256;
    rest = Math.floor(rest / 256);
  }
}

/** What a record's header says, before anything is trusted. */
export interface RecordShape {
  dataLength: number;
  refCount: number;
  /** Where the data starts, from the record's start. */
  dataStart: number;
  totalBytes: number;
}

/** Reads a record header; null when it cannot be a record (counts out of range). */
export function readRecordShape(header: Uint8Array): RecordShape | null {
  if (header.length < recordHeaderBytes) return null;
  const dataLength = readLittleEndian(header, 0, 8);
  const refCount = readLittleEndian(header, 8, 4);
  if (!Number.isSafeInteger(dataLength) || refCount > maxRefs || readLittleEndian(header, 12, 4) !== 0) return null;
  const dataStart = recordHeaderBytes + refCount * idBytes;
  return { dataLength, refCount, dataStart, totalBytes: dataStart + dataLength };
}

// The index word is written whole (in the index's fill, before the record is
// published, or by one 64-bit compare-and-swap) and read a byte at a time, so the
// hot path never boxes a BigInt. The kind byte is read first; a reader that finds
// an impossible offset under a non-zero kind re-reads the word atomically.

/** The index word for `kind` at `offset` (offset < 2^56), as a BigInt. */
export function packIndexWord(kind: StorageKind, offset: number): bigint {
  return (BigInt(kind) << 56n) | BigInt(offset);
}

/** The storage kind in an index word (its top byte, little-endian). */
export function wordKind(word: Uint8Array): number {
  return word[7]!;
}

/** The offset (or file length) in the low 56 bits of the index word at `word[at]`. */
export function wordOffset(word: Uint8Array, at = 0): number {
  const low = (word[at]! | (word[at + 1]! << 8) | (word[at + 2]! << 16) | (word[at + 3]! << 24)) >>> 0;
  return (word[at + 4]! | (word[at + 5]! << 8) | (word[at + 6]! << 16)) * 2 ** 32 + low;
}

/** The word as one atomic 64-bit load (the slow, certain path), with the opener's loads (word-loads.ts). */
export function loadWordAtomically(word: Uint8Array, loads: WordLoads): bigint {
  return loads.int64(new BigInt64Array(word.buffer, word.byteOffset, 1), 0);
}

/** Writes the word for `kind` at `offset` into an unpublished record's bytes at `at`. */
export function writeWord(into: Uint8Array, at: number, kind: StorageKind, offset: number): void {
  writeLittleEndian(into, at, offset, 7);
  into[at + 7] = kind;
}

