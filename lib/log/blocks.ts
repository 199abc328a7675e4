/**
 * Reading one block: its owner, its commit word and the records below it, with
 * every value from the file checked before it is used, so that a corrupt block is
 * reported (and skipped) instead of read out of bounds or looped over forever.
 * Shared by the writer's log (over the mapping) and the CLI (over pread copies).
 */
import type { WordLoads } from "../arena/word-loads.ts";
import {
  blockCommitWord,
  blockGenerationWord,
  blockHeaderBytes,
  blockOwnerWord,
  commitEndMask,
  recordHeaderBytes,
  sealedBit,
  slotCount,
} from "./format.ts";

/** A block's bytes and the same memory as 32-bit words (for the atomics). */
export interface BlockView {
  /** File offset of the block's first byte. */
  start: number;
  bytes: Uint8Array;
  words: Int32Array;
  /** How the header's words are loaded: never a write for a read-only opener (lib/arena/word-loads.ts). */
  loads: WordLoads;
}

/** The owner word: 0 (not yet written), slot + 1, or -1 when it cannot be an owner. */
export function loadOwner(block: BlockView): number {
  const owner = block.loads.int32(block.words, blockOwnerWord);
  return owner >= 0 && owner <= slotCount ? owner : -1;
}

export function loadGeneration(block: BlockView): number {
  return block.loads.int32(block.words, blockGenerationWord);
}

/**
 * The commit word, checked: the end of the committed records (at least the block
 * header's end) | sealedBit, or -1 when the word is impossible (corrupt).
 */
export function loadCommit(block: BlockView, blockSizeBytes: number): number {
  const commit = block.loads.int32(block.words, blockCommitWord);
  if (commit < 0 || (commit & ~(sealedBit | commitEndMask)) !== 0) return -1;
  const end = commit & commitEndMask;
  if (end === 0) return blockHeaderBytes | (commit & sealedBit);
  if (end < blockHeaderBytes || end > blockSizeBytes || end % 4 !== 0) return -1;
  return commit;
}

export const commitEnd = (commit: number) => commit & commitEndMask;
export const isSealed = (commit: number) => (commit & sealedBit) !== 0;

/** A record's payload length, or -1 when a record at `at` would not end by `end`. */
export function recordLengthAt(words: Int32Array, at: number, end: number): number {
  if (at + recordHeaderBytes > end) return -1;
  const length = words[at >> 2]! >>> 0;
  if (length > end - at - recordHeaderBytes) return -1;
  return length;
}

/**
 * Counts the records and payload bytes in [from, end) of a block. `whole` is false
 * when they do not tile the range exactly (corrupt): the counts then cover the
 * records before the first impossible one, which readers do read. Each step moves
 * at least 4 bytes, so the loop is bounded by the block's size.
 */
export function countRecords(words: Int32Array, from: number, end: number): { records: number; bytes: number; whole: boolean } {
  let records = 0;
  let bytes = 0;
  let at = from;
  while (at < end) {
    const length = recordLengthAt(words, at, end);
    if (length < 0) return { records, bytes, whole: false };
    records += 1;
    bytes += length;
    at += recordHeaderBytes + ((length + 3) & ~3);
  }
  return { records, bytes, whole: at === end };
}

/**
 * Records begun but never committed past `from` in an abandoned block: a non-zero
 * length that fits. Bounded by the block's size; stops at the first that does not fit.
 */
export function countBegunRecords(words: Int32Array, from: number, blockSizeBytes: number): number {
  let begun = 0;
  let at = from;
  while (at + recordHeaderBytes <= blockSizeBytes) {
    const length = words[at >> 2]! >>> 0;
    if (length === 0 || length > blockSizeBytes - at - recordHeaderBytes) break;
    begun += 1;
    at += recordHeaderBytes + ((length + 3) & ~3);
  }
  return begun;
}

/**
 * True when a block past the bump pointer is as the arena leaves unclaimed space:
 * zero header and no first record. Anything else there means the bump pointer went
 * down onto written blocks, and claiming would write over them.
 */
export function isFreshBlock(words: Int32Array): boolean {
  for (let word = 0; word <= blockHeaderBytes / 4; word++) if (Atomics.load(words, word) !== 0) return false;
  return true;
}
