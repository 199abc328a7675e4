/**
 * The record log's file format, byte by byte (docs/DESIGN.md (the record log) says why).
 *
 * A log is an arena file whose header sits at arenaHeaderOffset; the bytes before
 * it are the log's own header and its writer-slot table, and every allocation
 * after it is one block of blockSizeBytes. All numbers are little-endian.
 *
 *   0     u8[8]  magic "MFALOG01"
 *   8     u32    version (1)
 *   12    u32    blockSizeBytes: a power of two, minBlockSizeBytes..maxBlockSizeBytes
 *   16    u32    slotCount (128)
 *   20    u32    slotTableOffset (64)
 *   24    ...    zero up to 64
 *   64    slot table: slotCount entries of slotEntryBytes (16):
 *           i32 generation   bumped by each writer that takes the slot
 *           i32 claiming     while the slot's writer is between "about to claim
 *                            a block" and "block header written": the index of
 *                            the block it is claiming + 2 (1: some block, as
 *                            older writers store); 0 otherwise
 *           8 bytes zero
 *   4064  the arena header (32 bytes, LLVM's format); its bump pointer is the end
 *         of the last claimed block
 *   4096  block 0, then block 1, ... each blockSizeBytes long
 *
 * A block:
 *   0   i32 owner        slot + 1 of the writer that claimed it; 0 until written
 *   4   i32 generation   that writer's generation in its slot
 *   8   i32 commit       end (from the block's start) of the committed records,
 *                        | sealedBit once its writer will add no more; 0 = 16
 *   12  i32 zero
 *   16  records: u32 length, then the bytes, padded to 4
 */
import { recordLogMagic } from "../common/file-kinds.ts";

export const logMagic = recordLogMagic;
export const logVersion = 1;

export const magicOffset = 0;
export const versionOffset = 8;
export const blockSizeOffset = 12;
export const slotCountOffset = 16;
export const slotTableOffsetOffset = 20;

export const slotTableOffset = 64;
export const slotCount = 128;
export const slotEntryBytes = 16;
/** Int32 index of a slot's words inside the log header's Int32Array view. */
export const slotGenerationWord = (slot: number) => (slotTableOffset + slot * slotEntryBytes) / 4;
export const slotClaimingWord = (slot: number) => slotGenerationWord(slot) + 1;
/** The claiming word's value for a claim of block `index` (1, "some block", past the i32 range). */
export const claimingValue = (index: number) => (index + 2 <= 0x7fffffff ? index + 2 : claimingSomeBlock);
export const claimingSomeBlock = 1;
/** The file byte a writer locks (an OFD lock) while it holds the slot. */
export const slotLockByte = (slot: number) => slotTableOffset + slot * slotEntryBytes;

/** The arena's 32-byte header ends where block 0 begins, on a page boundary. */
export const firstBlockOffset = 4096;
export const arenaHeaderOffset = firstBlockOffset - 32;
export const logHeaderBytes = arenaHeaderOffset;

export const blockHeaderBytes = 16;
export const blockOwnerWord = 0;
export const blockGenerationWord = 1;
export const blockCommitWord = 2;
export const sealedBit = 1 << 30;
export const commitEndMask = sealedBit - 1;

export const recordHeaderBytes = 4;
export const minBlockSizeBytes = 4096;
/** Keeps every in-block offset below sealedBit, and a block viewable whole. */
export const maxBlockSizeBytes = 1 << 28;
export const defaultBlockSizeBytes = 64 * 1024;

/** Bytes a record of `length` payload bytes takes in a block: header, payload, padding to 4. */
export function recordSpan(length: number): number {
  return recordHeaderBytes + ((length + 3) & ~3);
}

/** The largest payload a block of `blockSizeBytes` holds. */
export function maxRecordBytes(blockSizeBytes: number): number {
  return blockSizeBytes - blockHeaderBytes - recordHeaderBytes;
}

export function isValidBlockSize(value: number): boolean {
  return Number.isInteger(value) && value >= minBlockSizeBytes && value <= maxBlockSizeBytes && (value & (value - 1)) === 0;
}

/** The log header's fields, as decoded from its first bytes. */
export interface LogHeader {
  magic: string;
  version: number;
  blockSizeBytes: number;
  slotCount: number;
  slotTableOffset: number;
}

export function decodeLogHeader(bytes: Uint8Array): LogHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 64);
  return {
    magic: String.fromCharCode(...bytes.subarray(magicOffset, magicOffset + 8)),
    version: view.getUint32(versionOffset, true),
    blockSizeBytes: view.getUint32(blockSizeOffset, true),
    slotCount: view.getUint32(slotCountOffset, true),
    slotTableOffset: view.getUint32(slotTableOffsetOffset, true),
  };
}

export function encodeLogHeader(into: Uint8Array, blockSizeBytes: number): void {
  const view = new DataView(into.buffer, into.byteOffset, 64);
  for (let i = 0; i < 8; i++) into[magicOffset + i] = logMagic.charCodeAt(i);
  view.setUint32(versionOffset, logVersion, true);
  view.setUint32(blockSizeOffset, blockSizeBytes, true);
  view.setUint32(slotCountOffset, slotCount, true);
  view.setUint32(slotTableOffsetOffset, slotTableOffset, true);
}

/** Why a header is not a log this code can read, or undefined when it is one. */
export function logHeaderProblem(header: LogHeader): string | undefined {
  if (header.magic !== logMagic) return `its first bytes are not the record log's magic ${JSON.stringify(logMagic)}`;
  if (header.version !== logVersion) return `it is record log version ${header.version}; this code reads version ${logVersion}`;
  if (!isValidBlockSize(header.blockSizeBytes)) return `its block size ${header.blockSizeBytes} is not a power of two from ${minBlockSizeBytes} to ${maxBlockSizeBytes}`;
  if (header.slotCount !== slotCount || header.slotTableOffset !== slotTableOffset) {
    return `its writer-slot table (${header.slotCount} slots at ${header.slotTableOffset}) is not the expected ${slotCount} at ${slotTableOffset}`;
  }
  return undefined;
}
