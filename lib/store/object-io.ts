/**
 * Reading and writing one object in one generation. Writing follows one rule:
 * the bytes are complete (in the pool, or in a file renamed into place) before
 * the index word that points at them is published, so a reader or a crash never
 * sees half an object. Reading checks every offset and length against the pool
 * before making a view, so a corrupt index is an ArenaError, never a wild read.
 */
import { wordLoadsFor } from "../arena/word-loads.ts";
import { ArenaError } from "../common/errors.ts";
import type { Generation } from "./generation.ts";
import { idBytes, idToHex } from "./hashing.ts";
import { fileLength, largeObjectPath, readFileOfLength, writeWholeFile } from "./large-objects.ts";
import {
  largeObjectBytes,
  loadWordAtomically,
  packIndexWord,
  readRecordShape,
  recordBytes,
  recordHeaderBytes,
  StorageKind,
  wordKind,
  wordOffset,
  writeRecordHeader,
  writeWord,
} from "./object-record.ts";
import { storeTestHooks } from "./testing.ts";

/** An object as stored: its data and its refs (ids back to back). */
export interface ObjectContent {
  data: Uint8Array;
  refBytes: Uint8Array;
  refCount: number;
}

/** Where the index says an object is: kind 0 means absent. */
export interface ObjectLocation {
  kind: number;
  offset: number;
}

const absent: ObjectLocation = { kind: StorageKind.none, offset: 0 };

/** Finds `id` in the generation's index; kind 0 when absent or not yet published. */
export function locate(generation: Generation, id: Uint8Array): ObjectLocation {
  const at = generation.findWord(id);
  if (at < 0) return absent;
  const kind = generation.wordKindAt(at);
  if (kind === StorageKind.none) return absent;
  return { kind, offset: generation.wordOffsetAt(at) };
}

export function locationOf(word: Uint8Array): ObjectLocation {
  const kind = wordKind(word);
  if (kind === StorageKind.none) return absent;
  return { kind, offset: wordOffset(word) };
}

/** True when `id` has a published object in `generation` (its index word only: a large object's file is not looked at). */
export function isPresent(generation: Generation, id: Uint8Array): boolean {
  const at = generation.findWord(id);
  return at >= 0 && generation.wordKindAt(at) !== StorageKind.none;
}

function corrupt(generation: Generation, id: Uint8Array, what: string): ArenaError {
  return new ArenaError("ERR_CAS_CORRUPT", `object ${idToHex(id)} in ${generation.directory}: ${what}`, {
    path: generation.directory,
  });
}

/** Reads a located object. The data is a copy: the caller owns it. */
export function readObject(generation: Generation, id: Uint8Array, location: ObjectLocation): ObjectContent {
  switch (location.kind) {
    case StorageKind.pool:
      return readPoolRecord(generation, id, location.offset);
    case StorageKind.leafFile: {
      const path = largeObjectPath(generation.directory, StorageKind.leafFile, idToHex(id));
      const data = readLargeObjectFile(generation, id, path, location.offset);
      return { data, refBytes: emptyRefs, refCount: 0 };
    }
    case StorageKind.recordFile: {
      const path = largeObjectPath(generation.directory, StorageKind.recordFile, idToHex(id));
      const bytes = readLargeObjectFile(generation, id, path, location.offset);
      const shape = readRecordShape(bytes);
      if (shape === null || shape.totalBytes !== bytes.length) throw corrupt(generation, id, `its file ${path} is not a whole record`);
      return {
        data: bytes.subarray(shape.dataStart),
        refBytes: bytes.subarray(recordHeaderBytes, shape.dataStart),
        refCount: shape.refCount,
      };
    }
    default:
      throw corrupt(generation, id, `its index word has the unknown storage kind ${location.kind}`);
  }
}

const emptyRefs = new Uint8Array(0);

/** The bytes of `id`'s file at `path`, which its index word says is `length` bytes long; ERR_CAS_CORRUPT if missing or not that long. */
function readLargeObjectFile(generation: Generation, id: Uint8Array, path: string, length: number): Uint8Array {
  const bytes = readFileOfLength(path, length);
  if (bytes === null) throw corrupt(generation, id, `its file ${path} is missing`);
  if (typeof bytes === "number") throw corrupt(generation, id, `its file ${path} has ${bytes} bytes, not ${length}`);
  return bytes;
}

/**
 * The data length of the leaf (no refs) whose record is at pool `offset`, whose
 * data starts recordHeaderBytes later; -1 when the record has refs, its header
 * is not a plain leaf's or it lies outside the pool, so the caller takes
 * readObject's general path (which also reports corruption). The hot path of
 * get(), getInto() and view(): the header read byte-wise from the pool's
 * long-lived view and the record's bounds checked against it; nothing allocated.
 */
export function poolLeafLength(generation: Generation, offset: number): number {
  if (offset % 8 !== 0) return -1;
  const bytes = generation.poolBytesOver(offset, offset + recordHeaderBytes);
  if (bytes === null) return -1;
  // u64le data length (a leaf in the pool is under 64 KiB: bytes 3..7 are 0), then u32 ref count 0, u32 0.
  let high = 0;
  for (let index = 3; index < recordHeaderBytes; index++) high |= bytes[offset + index]!;
  if (high !== 0) return -1;
  const dataLength = bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16);
  return generation.poolBytesOver(offset, offset + recordHeaderBytes + dataLength) === null ? -1 : dataLength;
}

/**
 * The record at pool `offset` as views of the mapping (data and refs), after
 * checking its header and bounds: what readObject copies out and view() hands
 * out. The views go empty (length 0) when the generation is closed.
 */
export function poolRecordViews(generation: Generation, id: Uint8Array, offset: number): ObjectContent {
  const pool = generation.pool;
  let header: Uint8Array;
  try {
    header = pool.get(offset, recordHeaderBytes);
  } catch (error) {
    if (!(error instanceof ArenaError && error.code === "ERR_ARENA_CORRUPT")) throw error;
    // A byte-wise read of the word can race a compare-and-swap publish (only after
    // a crash left an unpublished record); the atomic read settles it.
    const record = generation.objects.find(id);
    const settled = record === null ? 0n : Number(loadWordAtomically(record.data, wordLoadsFor(generation.objects.readOnly)) & 0xff_ffff_ffff_ffffn);
    if (settled === offset || settled === 0n) throw corrupt(generation, id, `its pool offset ${offset} is outside the pool`);
    return poolRecordViews(generation, id, Number(settled));
  }
  const shape = readRecordShape(header);
  if (shape === null) throw corrupt(generation, id, `the record at pool offset ${offset} has an impossible header`);
  if (offset % 8 !== 0 || offset + shape.totalBytes > pool.size) {
    throw corrupt(generation, id, `the record at pool offset ${offset} runs past the pool`);
  }
  // Through the header view's buffer (checked above): the views lie inside the record.
  const { buffer, byteOffset } = header;
  return {
    data: new Uint8Array(buffer, byteOffset + shape.dataStart, shape.dataLength),
    refBytes: shape.refCount === 0 ? emptyRefs : new Uint8Array(buffer, byteOffset + recordHeaderBytes, shape.refCount * idBytes),
    refCount: shape.refCount,
  };
}

/** A pool record copied out of the mapping: the caller owns it. */
function readPoolRecord(generation: Generation, id: Uint8Array, offset: number): ObjectContent {
  const views = poolRecordViews(generation, id, offset);
  return { data: views.data.slice(), refBytes: views.refCount === 0 ? emptyRefs : views.refBytes.slice(), refCount: views.refCount };
}

/**
 * Stores an object whose id is `id` into `generation`, unless it is there.
 * Complete bytes first, index word last. Returns the bytes it added.
 */
export function storeObject(generation: Generation, id: Uint8Array, content: ObjectContent): number {
  if (isPresent(generation, id) && !storeTestHooks.writeEvenIfPresent) return 0;
  const { data, refCount } = content;
  const size = recordBytes(data.length, refCount);
  let offset = -1;
  if (size < largeObjectBytes) {
    try {
      offset = generation.pool.allocateOffset(size);
    } catch (error) {
      // A full pool is not a full store: LLVM falls back to a file of its own too.
      if (!(error instanceof ArenaError && error.code === "ERR_ARENA_FULL")) throw error;
    }
  }
  if (offset < 0) {
    const kind = refCount === 0 ? StorageKind.leafFile : StorageKind.recordFile;
    const length = writeLargeObject(generation, id, kind, content);
    generation.addLargeObjectBytes(length);
    publish(generation, id, kind, length);
    return length;
  }
  if (storeTestHooks.publishBeforeWrite) {
    publish(generation, id, StorageKind.pool, offset); // BROKEN on purpose: the word points at bytes not yet written
    writePoolRecord(generation, offset, size, content);
    return size;
  }
  writePoolRecord(generation, offset, size, content);
  storeTestHooks.at?.("bytes-written");
  publish(generation, id, StorageKind.pool, offset);
  return size;
}

function writePoolRecord(generation: Generation, offset: number, size: number, content: ObjectContent): void {
  const record = generation.pool.get(offset, size);
  writeRecordHeader(record, content.data.length, content.refBytes, content.refCount);
  record.set(content.data, recordHeaderBytes + content.refCount * idBytes);
}

function publish(generation: Generation, id: Uint8Array, kind: StorageKind, offset: number): void {
  // The initializer fills a new record before the trie publishes it.
  const at = generation.objects.insertOffset(id, (fresh) => writeWord(fresh, 0, kind, offset));
  // An index record left at 0 (its writer died between inserting and writing it;
  // our order never leaves one, LLVM's can) is filled by one compare-and-swap.
  if (generation.wordAtRecord(id, at) === at && generation.wordKindAt(at) === StorageKind.none) {
    generation.publishWordAt(at, packIndexWord(kind, offset));
  }
  storeTestHooks.at?.("index-published");
}

function writeLargeObject(generation: Generation, id: Uint8Array, kind: StorageKind, content: ObjectContent): number {
  const { data, refBytes, refCount } = content;
  const path = largeObjectPath(generation.directory, kind, idToHex(id));
  let length: number;
  if (kind === StorageKind.leafFile) {
    length = writeWholeFile(path, [data]);
  } else {
    const header = new Uint8Array(recordHeaderBytes + refCount * idBytes);
    writeRecordHeader(header, data.length, refBytes, refCount);
    length = writeWholeFile(path, [header, data]);
  }
  return length;
}

/**
 * For an object `generation` has (its index word at record offset `at`, from
 * findWord): when it lives in a file of its own and that
 * file is missing or not the length its index word says (deleted, truncated),
 * writes the file again from `content` (renamed into place, so readers see the
 * old file or the whole new one). One stat; nothing for pool objects. Returns
 * the bytes written. put calls it, so putting the bytes again repairs the object.
 */
export function repairLargeObject(generation: Generation, id: Uint8Array, at: number, content: ObjectContent): number {
  const kind = generation.wordKindAt(at);
  if (kind !== StorageKind.leafFile && kind !== StorageKind.recordFile) return 0;
  if (largeObjectIntact(generation, id, kind, generation.wordOffsetAt(at))) return 0;
  return writeLargeObject(generation, id, kind, content);
}

/**
 * Whether the file of a large object (`kind` leafFile or recordFile) is there
 * and `length` bytes long, as its index word says. One stat.
 */
export function largeObjectIntact(generation: Generation, id: Uint8Array, kind: number, length: number): boolean {
  return fileLength(largeObjectPath(generation.directory, kind as StorageKind, idToHex(id))) === length;
}

/** For validation: the file a large object should be in, and its length now (null if missing). */
export function largeObjectFile(generation: Generation, id: Uint8Array, kind: number): { path: string; length: number | null } {
  const path = largeObjectPath(generation.directory, kind as StorageKind, idToHex(id));
  return { path, length: fileLength(path) };
}
