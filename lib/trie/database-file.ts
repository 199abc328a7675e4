/**
 * LLVM's DatabaseFile (llvm/lib/CAS/DatabaseFile.h): an arena file that starts
 * with a 16-byte header of its own and holds one named table.
 *
 *   offset 0   u32  magic 0xDA7ABA53
 *   offset 4   u32  version 1
 *   offset 8   i64  root table offset (0 until the table is added)
 *   offset 16  the arena header (MappedFileRegionArena, headerOffset 16)
 *   offset 48  the first allocation: the table
 *
 * Every table starts with a generic 8-byte header: kind u16 (1 trie, 2 data
 * allocator), name size u16, name offset i32 relative to the table. The name is
 * stored with a NUL after it. See docs/DESIGN.md (the trie) for every byte.
 *
 * The effect we want: one call opens or creates the file, and whoever gets the
 * object back holds a table that is the kind, name and shape they asked for, or
 * an ArenaError that says what differs. So the table is written inside the
 * arena's onCreate (exclusive access, and a failure leaves an empty file for the
 * next opener), and an existing file is judged before anything reads through a
 * stored offset: the root table offset, the name's offset and size are bounds-
 * checked against the bump pointer. LLVM trusts them.
 *
 * An existing file is judged twice: with pread before the arena opens it (so a
 * file of another kind, name or shape, or a corrupt one, is refused with not a
 * byte changed: opening refreshes the arena's allocatedSize word), and again
 * over the mapping, which is what counts. Opening is split from judging (`judgeDatabase`,
 * `NewTable.judge`), so the read-only open (`openReadOnly`, over the arena's
 * read-only open) runs the same checks over the part of the file it mapped.
 */
import { Buffer } from "node:buffer";
import { closeSync, fstatSync } from "node:fs";
import { MappedFileRegionArena } from "../arena/arena.ts";
import { openRegularFileToRead } from "../arena/regular-file.ts";
import { wordLoadsFor, type WordLoads } from "../arena/word-loads.ts";
import { ArenaError, notCreatedYet } from "../common/errors.ts";
import { databaseMagic, databaseTableKindNames } from "../common/file-kinds.ts";
import { requireNonNegativeInteger, requireString } from "../common/arguments.ts";
import { trieVariant } from "./broken-variants.ts";
import { alignUp8, corruptAt, headerMismatch } from "./corruption.ts";
import { PreadViews } from "./pread-views.ts";

export { databaseMagic };
export const databaseVersion = 1;
/** Magic, version, root table offset: 16 bytes, and where the arena header goes. */
export const databaseHeaderBytes = 16;
export const rootTableOffsetAt = 8;
/** The arena header is 32 bytes: the table is the first allocation, at 48. */
export const firstAllocationOffset = databaseHeaderBytes + 32;
/** Kind u16, name size u16, name offset i32. */
export const genericTableHeaderBytes = 8;

export const TableKind = { trieRawHashMap: 1, dataAllocator: 2 } as const;

/**
 * 2 GiB: every offset then fits a signed 32-bit integer, which keeps the trie's
 * walk in integer arithmetic and lets it read a slot as two 32-bit loads
 * (trie-layout.ts). The whole mapping is also one JavaScript buffer.
 */
export const maxDatabaseCapacity = 2 ** 31;

/**
 * Fresh second mappings a read-only opener makes at most (handoutView): each
 * is the capacity's address space until close. Past it, a view of a page the
 * caller wrote shows the caller's bytes (and misses writers' later stores there).
 */
const maxFreshMappings = 64;

/**
 * What the judges read: bytes of the file by file offset, through the mapping
 * (MappingViews) or pread where they ask (PreadViews, before the file is opened).
 */
export interface ByteViews {
  bytes: { subarray(start: number, end: number): Uint8Array };
  view: Pick<DataView, "getUint8" | "getUint16" | "getUint32" | "getInt32" | "getBigInt64" | "getBigUint64">;
}

/** Long-lived views over the whole mapping: the hot paths index into these. */
export interface MappingViews extends ByteViews {
  bytes: Uint8Array;
  view: DataView;
  int32: Int32Array;
  int64: BigInt64Array;
  /** How words that writers store to are loaded through these views (lib/arena/word-loads.ts). */
  loads: WordLoads;
}

/** What a new table looks like: the kind-specific part is written by `initialize`. */
export interface NewTable {
  kind: number;
  name: string;
  /** Where the name starts, relative to the table: the size of the table's own header. */
  nameRelOffset: number;
  /** Fills the kind-specific fields of a table just allocated at `tableOffset` (inside onCreate). */
  initialize(arena: MappedFileRegionArena, views: MappingViews, tableOffset: number): void;
  /**
   * Judges the kind-specific header of an existing table (identity already
   * checked): throws ERR_ARENA_HEADER_MISMATCH or ERR_ARENA_CORRUPT. `size` is the
   * bump pointer; nothing at or past it may be read.
   */
  judge(views: ByteViews, table: RootTable, size: number): void;
}

/** What an existing table must be, for a read-only open: nothing is created. */
export type ExistingTable = Pick<NewTable, "kind" | "name" | "judge">;

export interface DatabaseOpenOptions {
  capacity: number;
  allowUnsafeFileSystem?: boolean;
  table: NewTable;
}

/** The generic table header of the file's root table, judged. */
export interface RootTable {
  offset: number;
  kind: number;
  nameSize: number;
  nameRelOffset: number;
  /** Where the table's allocation ends (name and NUL included, rounded to 8). */
  end: number;
}

export class DatabaseFile implements Disposable {
  readonly path: string;
  readonly arena: MappedFileRegionArena;
  /** Over everything the arena can view; replaced when a read-only arena's view grows (latestViews). */
  views: MappingViews;
  readonly table: RootTable;

  private constructor(arena: MappedFileRegionArena, views: MappingViews, table: RootTable) {
    this.path = arena.path;
    this.arena = arena;
    this.views = views;
    this.table = table;
  }

  /**
   * Opens the database file at `path`, creating it with `options.table` if it does
   * not exist. Throws ERR_ARENA_HEADER_MISMATCH if the file holds another kind or
   * name of table, ERR_ARENA_CORRUPT if its headers cannot be right.
   */
  static open(path: string, options: DatabaseOpenOptions): DatabaseFile {
    requireString(path, "path");
    const capacity = requireNonNegativeInteger(options.capacity, "options.capacity");
    if (capacity > maxDatabaseCapacity) {
      throw new RangeError(`options.capacity must be at most ${maxDatabaseCapacity} (2 GiB), got ${capacity}`);
    }
    const nameBytes = encodeName(options.table.name);
    precheckExisting(path, options.table, nameBytes);
    const arena = MappedFileRegionArena.create(path, {
      capacity,
      headerOffset: databaseHeaderBytes,
      allowUnsafeFileSystem: options.allowUnsafeFileSystem ?? false,
      onCreate: (fresh) => createTable(fresh, options.table, nameBytes),
    });
    return DatabaseFile.#adopt(arena, options.table, nameBytes);
  }

  /**
   * Opens the existing database file at `path` read-only (MappedFileRegionArena.openReadOnly):
   * the same judgement as open(), nothing created or changed on disk.
   */
  static openReadOnly(path: string, table: ExistingTable, options: { allowUnsafeFileSystem?: boolean } = {}): DatabaseFile {
    requireString(path, "path");
    const nameBytes = encodeName(table.name);
    let arena: MappedFileRegionArena;
    try {
      arena = MappedFileRegionArena.openReadOnly(path, {
        headerOffset: databaseHeaderBytes,
        allowUnsafeFileSystem: options.allowUnsafeFileSystem ?? false,
      });
    } catch (error) {
      const kind = table.kind === TableKind.trieRawHashMap ? "OnDiskTrieRawHashMap" : "OnDiskDataAllocator";
      throw notCreatedYet(error, path, `${kind} file`, `${kind}.create(path, options)`);
    }
    return DatabaseFile.#adopt(arena, table, nameBytes);
  }

  /** Judges the opened file's headers and table; closes the arena and throws if any is wrong. */
  static #adopt(arena: MappedFileRegionArena, expected: ExistingTable, nameBytes: Uint8Array): DatabaseFile {
    const path = arena.path;
    try {
      if (arena.capacity > maxDatabaseCapacity) {
        throw tooLarge(path, BigInt(arena.capacity));
      }
      // The bump pointer first: reading it may grow a read-only arena's view, and the views must cover it.
      const size = arena.size;
      let views = mappingViews(arena);
      const table = judgeDatabase(views, size, path);
      checkTableIdentity(views, table, expected.kind, nameBytes, expected.name, path);
      judgeWithSizeReread(size, () => arena.size, (later) => {
        if (later !== size) views = mappingViews(arena);
        expected.judge(views, table, later);
      });
      return new DatabaseFile(arena, views, table);
    } catch (error) {
      arena.close();
      throw error;
    }
  }

  /** True when opened with openReadOnly: writer entries throw ERR_ARENA_READ_ONLY. */
  get readOnly(): boolean {
    return this.arena.readOnly;
  }

  /**
   * The views, made again if the arena can now view more than they cover (a
   * read-only arena whose file a writer grew: see lib/arena/read-only.ts). Views
   * made earlier stay valid until close. A writer's views always cover the capacity.
   */
  latestViews(): MappingViews {
    if (this.arena.readableBytes > this.views.bytes.length) this.views = mappingViews(this.arena);
    return this.views;
  }

  /**
   * A view of [offset, offset + length) for a caller (a record's data or hash,
   * a block, the user header), checked to be inside the views by the caller;
   * its byteOffset is the file offset, and its buffer starts at offset 0. A
   * writer: over the mapping's own buffer, as the library's views. A read-only
   * opener: over a buffer of its own on the arena's second mapping
   * (MappedFileRegionArena.separateBuffer), only as long as the file may be
   * read (readableBytes), so that:
   *  - structuredClone or postMessage of a view, which copies the view's whole
   *    buffer, never reads past the end of the file (a SIGBUS);
   *  - a caller's write through a view, which copies that page into this
   *    process for good, leaves the pages the library reads (slots, headers,
   *    the bump pointer) following the file.
   * A page a caller wrote to no longer follows the file either: a view whose
   * bytes differ from the library's (twice: a writer's store landing between
   * the two reads of one compare is not a private page) is made again over a
   * fresh second mapping (one per page a caller wrote and then asked for
   * again, at most maxFreshMappings; the caller's earlier views keep their
   * bytes). After close, an empty view.
   */
  handoutView(offset: number, length: number): Uint8Array {
    if (this.closed) return new Uint8Array(0);
    if (!this.readOnly || trieVariant.broken === "views-over-the-mapping") return new Uint8Array(this.latestViews().bytes.buffer as ArrayBuffer, offset, length);
    const end = offset + length;
    let buffer = this.#handout;
    if (buffer === null || buffer.byteLength < end) buffer = this.#handout = this.arena.separateBuffer(0, this.arena.readableBytes);
    const view = new Uint8Array(buffer, offset, length);
    if (this.#freshMappings >= maxFreshMappings || this.#sameAsLibrary(view) || this.#sameAsLibrary(view)) return view;
    this.#freshMappings += 1;
    this.#handout = this.arena.freshSeparateBuffer(0, this.arena.readableBytes);
    return new Uint8Array(this.#handout, offset, length);
  }

  #handout: ArrayBuffer | null = null;
  #freshMappings = 0;

  /**
   * Whether the pages under `view` (a caller's, at its file offset) hold what
   * the library reads there: whole pages, not only the view's bytes, because a
   * caller's write anywhere on a page makes the process's copy of the whole page
   * private, and a view of untouched bytes on it would then never follow the
   * file again. (A write of the bytes already there cannot be seen this way:
   * docs/trie.md, "Writing through a read-only view".)
   */
  #sameAsLibrary(view: Uint8Array): boolean {
    const library = this.latestViews().bytes;
    const handout = new Uint8Array(view.buffer, 0, view.buffer.byteLength);
    const start = Math.floor(view.byteOffset / pageBytes) * pageBytes;
    const end = Math.min(Math.ceil((view.byteOffset + view.length) / pageBytes) * pageBytes, library.length, handout.length);
    return end <= start || Buffer.compare(handout.subarray(start, end), library.subarray(start, end)) === 0;
  }

  /** The bump pointer: every byte below it has been handed out. */
  get size(): number {
    return this.arena.size;
  }

  get closed(): boolean {
    return this.arena.closed;
  }

  close(): void {
    this.arena.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The span compared around a handed-out view: the largest page copy-on-write
 * works in on the systems this runs on with 4 or 16 KiB pages (x86-64, most
 * arm64 Linux, Apple silicon). On a kernel with 64 KiB pages a write further
 * away on the page is not seen (docs/trie.md).
 */
const pageBytes = 16384;

function tooLarge(path: string, capacity: bigint): ArenaError {
  return new ArenaError("ERR_ARENA_TOO_LARGE", `${path} has capacity ${capacity}; at most ${maxDatabaseCapacity} (2 GiB) is supported here`, { path });
}

/**
 * Views over the whole mapping, from the arena's one buffer (detached by the
 * arena on close). For a read-only arena, over what it may touch now
 * (`readableBytes`), which is also as far as its `size` goes.
 */
export function mappingViews(arena: MappedFileRegionArena): MappingViews {
  const length = arena.readableBytes;
  const whole = arena.bytes(0, length);
  const buffer = whole.buffer as ArrayBuffer;
  return {
    bytes: new Uint8Array(buffer, whole.byteOffset, length),
    view: new DataView(buffer, whole.byteOffset, length),
    int32: new Int32Array(buffer, whole.byteOffset, Math.floor(length / 4)),
    int64: new BigInt64Array(buffer, whole.byteOffset, Math.floor(length / 8)),
    loads: wordLoadsFor(arena.readOnly),
  };
}

function encodeName(name: string): Uint8Array {
  requireString(name, "options.name");
  const bytes = new TextEncoder().encode(name);
  if (bytes.length > 0xffff) throw new RangeError(`options.name must be at most 65535 bytes in UTF-8, got ${bytes.length}`);
  return bytes;
}

/** onCreate: the database header, then the table as the first allocation, then the root pointer. */
function createTable(arena: MappedFileRegionArena, table: NewTable, nameBytes: Uint8Array): void {
  const views = mappingViews(arena);
  views.view.setUint32(0, databaseMagic, true);
  views.view.setUint32(4, databaseVersion, true);
  views.view.setBigInt64(rootTableOffsetAt, 0n, true);
  const offset = arena.allocateOffset(table.nameRelOffset + nameBytes.length + 1);
  views.bytes.fill(0, offset, offset + alignUp8(table.nameRelOffset + nameBytes.length + 1));
  views.view.setUint16(offset, table.kind, true);
  views.view.setUint16(offset + 2, nameBytes.length, true);
  views.view.setInt32(offset + 4, table.nameRelOffset, true);
  views.bytes.set(nameBytes, offset + table.nameRelOffset);
  table.initialize(arena, views, offset);
  // LLVM's addTable compare-and-swaps this from 0; onCreate has the file to itself.
  Atomics.store(views.int64, rootTableOffsetAt >>> 3, BigInt(offset));
}

/**
 * Judges the database header and the root table's generic header of a mapped
 * file whose bump pointer is `size`. Reads no stored offset before checking it.
 */
export function judgeDatabase(views: ByteViews, size: number, path: string): RootTable {
  const { view } = views;
  judgeDatabaseHeader(views, path);
  const stored = view.getBigInt64(rootTableOffsetAt, true);
  if (stored === 0n) throw corruptAt(path, rootTableOffsetAt, "the database has no root table");
  if (stored < BigInt(firstAllocationOffset) || stored % 8n !== 0n || stored + BigInt(genericTableHeaderBytes) > BigInt(size)) {
    throw corruptAt(path, rootTableOffsetAt, `root table offset 0x${stored.toString(16)} is not an allocation below the bump pointer 0x${size.toString(16)}`);
  }
  const offset = Number(stored);
  const kind = view.getUint16(offset, true);
  const nameSize = view.getUint16(offset + 2, true);
  const nameRelOffset = view.getInt32(offset + 4, true);
  if (nameRelOffset < genericTableHeaderBytes || offset + nameRelOffset + nameSize > size) {
    throw corruptAt(path, offset + 4, `table name (offset ${nameRelOffset}, ${nameSize} bytes) is outside the table's allocation`);
  }
  const end = Math.min(size, alignUp8(offset + nameRelOffset + nameSize + 1));
  return { offset, kind, nameSize, nameRelOffset, end };
}

/** The magic and version: ERR_ARENA_HEADER_MISMATCH for a file that is not an LLVM database file (of this version). */
function judgeDatabaseHeader(views: ByteViews, path: string): void {
  const { view } = views;
  const magic = view.getUint32(0, true);
  if (magic !== databaseMagic) {
    throw new ArenaError(
      "ERR_ARENA_HEADER_MISMATCH",
      `${path} is not an LLVM database file: magic 0x${magic.toString(16)}, expected 0x${databaseMagic.toString(16)}`,
      { path },
    );
  }
  const version = view.getUint32(4, true);
  if (version !== databaseVersion) {
    throw new ArenaError("ERR_ARENA_HEADER_MISMATCH", `${path} is database version ${version}, expected ${databaseVersion}`, { path });
  }
}

/** The stored table's name, decoded. */
export function tableName(views: ByteViews, table: RootTable): string {
  const start = table.offset + table.nameRelOffset;
  return new TextDecoder().decode(views.bytes.subarray(start, start + table.nameSize));
}

function checkTableIdentity(views: ByteViews, table: RootTable, kind: number, nameBytes: Uint8Array, name: string, path: string): void {
  const start = table.offset + table.nameRelOffset;
  const stored = views.bytes.subarray(start, start + table.nameSize);
  const sameName = stored.length === nameBytes.length && stored.every((byte, index) => byte === nameBytes[index]);
  if (!sameName) {
    throw headerMismatch(path, name, `the file holds table ${JSON.stringify(tableName(views, table))}, not ${JSON.stringify(name)}`);
  }
  if (table.kind !== kind) {
    const found = databaseTableKindNames[table.kind] ?? `an unknown table kind ${table.kind}`;
    throw headerMismatch(path, name, `mismatched table kind (expected: ${kind}, observed: ${table.kind}): the file holds ${found}`);
  }
}

/**
 * Judges an existing, fully created file before the arena maps (and so touches)
 * it, reading with pread what the judges ask for wherever it lies (PreadViews):
 * a file of another kind, name or shape, or a corrupt one, is refused with not
 * a byte changed (opening refreshes the arena's allocatedSize word and may
 * create PATH.shared). Skipped for what the arena must judge itself (no file,
 * too short, no finished arena header at 16: a creation may be under way). Its
 * corruption verdicts are dropped only for a file shorter than its bump pointer
 * (the arena's open decides what that is); the judgement after opening, over
 * the mapping, is what counts.
 */
/**
 * Runs a table's judge against the bump pointer `size`, and once more against
 * one read again if it says ERR_ARENA_CORRUPT: a writer allocates a node before
 * it publishes the word that points at it (the root LLVM creates lazily), so a
 * word read after the bump pointer may point past it in a healthy file. The
 * second verdict stands.
 */
function judgeWithSizeReread(size: number, readSize: () => number, judge: (size: number) => void): void {
  try {
    judge(size);
  } catch (error) {
    if (!(error instanceof ArenaError) || error.code !== "ERR_ARENA_CORRUPT") throw error;
    const later = readSize();
    if (later <= size) throw error;
    judge(later);
  }
}

function precheckExisting(path: string, table: NewTable, nameBytes: Uint8Array): void {
  // Not openSync(path, "r"): on a FIFO that blocks forever; the arena refuses it.
  const fd = openRegularFileToRead(path);
  if (fd === undefined) return;
  try {
    const fileSize = fstatSync(fd).size;
    if (fileSize < firstAllocationOffset) return;
    const views = new PreadViews(fd, path, fileSize);
    // The creator writes the capacity word last (after onCreate wrote the magic): read it first.
    const storedCapacity = views.view.getBigUint64(databaseHeaderBytes + 16, true);
    if (storedCapacity === 0n) return;
    // The magic before the capacity: in any other file, that word is whatever is there.
    judgeDatabaseHeader(views, path);
    if (storedCapacity > BigInt(maxDatabaseCapacity)) throw tooLarge(path, storedCapacity);
    if (views.view.getBigUint64(databaseHeaderBytes + 24, true) !== BigInt(databaseHeaderBytes)) return;
    const bump = views.view.getBigUint64(databaseHeaderBytes, true);
    const complete = bump <= BigInt(fileSize);
    try {
      const size = complete ? Number(bump) : fileSize;
      const found = judgeDatabase(views, size, path);
      checkTableIdentity(views, found, table.kind, nameBytes, table.name, path);
      const rereadBump = () => Math.min(Number(views.view.getBigUint64(databaseHeaderBytes, true)), fileSize);
      judgeWithSizeReread(size, complete ? rereadBump : () => size, (later) => table.judge(views, found, later));
    } catch (error) {
      if (complete || !(error instanceof ArenaError) || error.code !== "ERR_ARENA_CORRUPT") throw error;
    }
  } finally {
    closeSync(fd);
  }
}
