/**
 * The arena header: four little-endian 64-bit words at `headerOffset`, laid out
 * exactly as LLVM's MappedFileRegionArena lays them out, so that either can open
 * the other's files.
 *
 *   word 0  bumpPtr        file offset of the first free byte
 *   word 1  allocatedSize  bytes of disk known to be reserved for the file
 *   word 2  capacity       size of the mapping, fixed by the creator
 *   word 3  headerOffset   where this header is, written by the creator
 *
 * This module reads and judges a header that was read with pread, before
 * anything is mapped or resized: a file that is not a valid arena must be refused
 * while it is still exactly as we found it. Its last functions are the atomic
 * updates any opener makes to the words of a mapped header.
 */
import { ArenaError } from "../common/errors.ts";
import { describeFileKind } from "../common/file-kinds.ts";

/** The header is four 64-bit words: 32 bytes. */
export const headerSizeBytes = 32;
/** Every allocation offset, and the header offset, is a multiple of this. */
export const alignmentBytes = 8;

/** Word indexes into the header, as a BigUint64Array sees it. */
export const bumpPointerWord = 0;
export const allocatedSizeWord = 1;
export const capacityWord = 2;
export const headerOffsetWord = 3;

/**
 * What a creator stores in the allocatedSize word until the creation is complete
 * (it stores the capacity, which completes it, then the real figure). A header that holds it,
 * the requested headerOffset and capacity 0 was left by a creator that died; no
 * other bytes are likely to look like that (0x7f then "CREATIN" in ASCII, far
 * above any real size).
 */
export const creationMarker = 0x7f43524541_54494en;

/**
 * The largest bumpPtr an arena may hold. Past the capacity is legal (an
 * overflowing allocation adds first and backs out after, and a process killed in
 * between leaves the pointer there), and means "full"; but allocation can leave
 * at most about twice the capacity (2^54) there, and this library settles it back
 * (arena.ts). A value beyond 2^62 was written by something else (a corrupt or
 * hand-edited file, or LLVM retrying an allocation in a full arena billions of
 * times): it is refused, because a few more additions could wrap the 64-bit word
 * and hand out offsets inside the header.
 */
export const maxBumpPtr = 2n ** 62n;

/**
 * The largest capacity a header may hold: a JavaScript number must hold every
 * offset exactly. Far below the creation marker, so a marker read as a capacity
 * (by the search for a header at another offset) is never taken for one.
 */
export const maxCapacity = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The size of a full arena: its capacity rounded down to a multiple of 8. Every
 * allocation starts and ends on a multiple of 8, so none ends past it, even when
 * the capacity is not one (LLVM accepts any capacity, and so do we). What a bump
 * pointer left past the capacity is settled to, and what `size` says then: a
 * bump pointer must stay a multiple of 8, or the file is refused as corrupt.
 */
export function fullSizeBytes(capacity: number): number {
  return capacity - (capacity % alignmentBytes);
}

/** The four header words as stored, unsigned; nothing here has been checked yet. */
export interface HeaderWords {
  bumpPtr: bigint;
  allocatedSize: bigint;
  capacity: bigint;
  headerOffset: bigint;
}

/**
 * Reads the four little-endian words from the first 32 bytes of `bytes` (or of
 * `view`, a DataView over the same bytes that the caller keeps, so that a
 * reader called on every open makes none).
 */
export function decodeHeader(bytes: Uint8Array, view = new DataView(bytes.buffer, bytes.byteOffset, headerSizeBytes)): HeaderWords {
  return {
    bumpPtr: view.getBigUint64(0, true),
    allocatedSize: view.getBigUint64(8, true),
    capacity: view.getBigUint64(16, true),
    headerOffset: view.getBigUint64(24, true),
  };
}

/** What judgeHeader concluded about a header it did not throw for. */
export type HeaderVerdict =
  /**
   * usedBytes: the bump pointer, capped at the capacity. overflowed: the pointer
   * is past the capacity (an overflowing allocation was killed before it backed
   * out): full, and how much below the capacity was handed out is unknown.
   * allocatedSize: the word as read, a claim only (see disk-proof.ts).
   */
  | { kind: "valid"; capacity: number; usedBytes: number; overflowed: boolean; allocatedSize: bigint }
  /**
   * The creator was killed after it set bumpPtr and headerOffset but before it
   * wrote capacity (which it writes last, after onCreate). The file holds nothing
   * anyone could have been given, so it can be created afresh. LLVM refuses
   * such a file forever.
   */
  | { kind: "creation-interrupted" };

/**
 * Judges the header of an existing file of `fileSizeBytes`, read at the
 * requested `headerOffset`. Throws ERR_ARENA_CORRUPT. The one judge of headers:
 * create() uses it before it maps anything, inspect and verify to report, so
 * they agree on every header.
 */
export function judgeHeader(words: HeaderWords, fileSizeBytes: number, headerOffset: number, path: string): HeaderVerdict {
  const size = BigInt(fileSizeBytes);
  const offset = BigInt(headerOffset);
  const headerEnd = offset + BigInt(headerSizeBytes);
  const corrupt = (why: string) => corruptHeader(path, why);

  // Only our own unfinished creation is redone: the marker, this headerOffset and
  // capacity 0, which the creator writes in one pwrite before the file has any
  // other content. (LLVM's unfinished creations have no marker and are refused.)
  if (words.capacity === 0n && words.headerOffset === offset && words.allocatedSize === creationMarker) {
    const plausibleBump = aligned(words.bumpPtr) && words.bumpPtr >= headerEnd && words.bumpPtr <= size;
    if (plausibleBump) return { kind: "creation-interrupted" };
  }
  if (words.headerOffset !== offset) {
    // Not a header at this offset. The word does not say where the header is (at
    // the wrong offset it is whatever lies there); callers search for a header at
    // another offset (throwIfHeaderIsElsewhere) and report that instead, if there is one.
    return throwing(corrupt(`the header offset word is ${hex(words.headerOffset)}, expected ${headerOffset}`));
  }
  if (words.capacity < headerEnd) return throwing(corrupt(`capacity ${words.capacity} cannot hold a header at ${headerOffset}`));
  if (words.capacity > maxCapacity) return throwing(corrupt(`capacity ${hex(words.capacity)} is out of range`));
  // LLVM's last close truncates to bumpPtr even when an overflowing allocation
  // died before putting it back, which leaves a file that long: full, not corrupt.
  const llvmOverflowClose = size > words.capacity && words.bumpPtr === size;
  if (size > words.capacity && !llvmOverflowClose) {
    return throwing(corrupt(`the file (${size} bytes) is larger than its capacity ${words.capacity}`));
  }
  if (!aligned(words.bumpPtr)) return throwing(corrupt(`bumpPtr ${hex(words.bumpPtr)} is not a multiple of ${alignmentBytes}`));
  if (words.bumpPtr < headerEnd) return throwing(corrupt(`bumpPtr ${hex(words.bumpPtr)} points into the header`));
  if (words.bumpPtr > maxBumpPtr) {
    return throwing(corrupt(`bumpPtr ${hex(words.bumpPtr)} is beyond anything allocation can leave (at most ${hex(maxBumpPtr)})`));
  }
  // A bumpPtr past the capacity is legal in a full-size file: an allocation that
  // overflows adds first and puts the pointer back after (and a process killed in
  // between leaves it there). The arena is then simply full.
  const pastEnd = words.bumpPtr > size;
  if (pastEnd && size < words.capacity) return throwing(corrupt(`bumpPtr ${hex(words.bumpPtr)} is past the end of the file (${size} bytes)`));
  const usedBytes = words.bumpPtr < words.capacity ? Number(words.bumpPtr) : fullSizeBytes(Number(words.capacity));
  return {
    kind: "valid",
    capacity: Number(words.capacity),
    usedBytes,
    overflowed: words.bumpPtr > words.capacity,
    allocatedSize: words.allocatedSize,
  };
}

function throwing(error: ArenaError): never {
  throw error;
}

function aligned(value: bigint): boolean {
  return value % alignmentBigInt === 0n;
}
const alignmentBigInt = BigInt(alignmentBytes);

function corruptHeader(path: string, why: string): ArenaError {
  return new ArenaError("ERR_ARENA_CORRUPT", `${path} is not a valid arena: ${why}; it was left untouched`, { path });
}

/** A header word in hex, always as the unsigned 64-bit number it is on disk (never "0x-..."). */
export function hex(value: bigint): string {
  return `0x${BigInt.asUintN(64, value).toString(16)}`;
}

/** How far into the file throwIfHeaderIsElsewhere looks for a header at another offset. */
export const headerSearchLimitBytes = 64 * 1024;

/**
 * Looks for a valid header at an 8-aligned position other than the requested one
 * in the first bytes of a file: one whose headerOffset word names its own position.
 * Lets a wrong headerOffset be reported as that (and where the header really is),
 * rather than as a corrupt file. Returns the position, or undefined.
 */
export function findHeader(bytes: Uint8Array, fileSizeBytes: number, exceptAt: number): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = BigInt(fileSizeBytes);
  for (let position = 0; position + headerSizeBytes <= bytes.byteLength; position += alignmentBytes) {
    if (position === exceptAt) continue;
    if (view.getBigUint64(position + 24, true) !== BigInt(position)) continue;
    const bumpPtr = view.getBigUint64(position, true);
    const capacity = view.getBigUint64(position + 16, true);
    const headerEnd = BigInt(position + headerSizeBytes);
    // The capacity bound is judgeHeader's: without it, the words of an unfinished
    // creation at position + 8 read as a header at position whose capacity is the
    // creation marker, and the file would be reported as "header elsewhere" by
    // every open instead of being created afresh.
    const plausible =
      capacity >= headerEnd && capacity >= size && capacity <= maxCapacity && aligned(bumpPtr) && bumpPtr >= headerEnd;
    if (plausible) return position;
  }
  return undefined;
}

/**
 * The one search for "the header is elsewhere", for create() and the CLI alike:
 * reads the first headerSearchLimitBytes with `readAt` (a pread) and throws
 * ERR_ARENA_HEADER_MISMATCH naming the position of a header found there, and
 * the file's kind when it is another of the library's (common/file-kinds.ts).
 * Returns when there is none.
 */
export function throwIfHeaderIsElsewhere(
  readAt: (into: Uint8Array, offset: number) => number,
  fileSizeBytes: number,
  headerOffset: number,
  path: string,
): void {
  const start = new Uint8Array(Math.min(fileSizeBytes, headerSearchLimitBytes));
  const read = start.subarray(0, readAt(start, 0));
  const position = findHeader(read, fileSizeBytes, headerOffset);
  if (position === undefined) return;
  const kind = describeFileKind(read);
  const what = kind === undefined ? "has its header" : `is ${kind}, with its arena header`;
  throw new ArenaError("ERR_ARENA_HEADER_MISMATCH", `${path} ${what} at offset ${position}, not at ${headerOffset}`, { path });
}

// Updates of header words in the shared mapping, by any opener at any time.

/** Raises a header word to at least `value`; it never goes down. */
export function raiseTo(header: BigUint64Array, word: number, value: number): void {
  const wanted = BigInt(value);
  let seen = Atomics.load(header, word);
  // Each failed exchange means another opener raised the word; the loop ends as
  // soon as the word is at least `wanted`, so it runs at most once per racing raise.
  while (seen < wanted) {
    const previous = Atomics.compareExchange(header, word, seen, wanted);
    if (previous === seen) return;
    seen = previous;
  }
}

/**
 * Lowers a header word to `ceiling` if it is above it. Bounded: each failed
 * exchange means another opener moved the word meanwhile, and under a storm of
 * those the word is left to the next one that fails.
 */
export function settleAtMost(header: BigUint64Array, word: number, ceiling: bigint): void {
  let seen = Atomics.load(header, word);
  for (let attempt = 0; attempt < 16 && seen > ceiling; attempt++) {
    const previous = Atomics.compareExchange(header, word, seen, ceiling);
    if (previous === seen) return;
    seen = previous;
  }
}
