/**
 * OnDiskDataAllocator: LLVM's data pool (llvm/lib/CAS/OnDiskDataAllocator.cpp),
 * a DatabaseFile whose one table hands out variable-size blocks by offset.
 *
 * Table (kind 2), offsets from its start:
 *   0  generic header (kind u16, name size u16, name offset i32 = 24 + user header size)
 *   8  i64 allocator offset (0, reserved by LLVM for free lists)
 *  16  u64 user header size
 *  24  the user header (zeroed, then the caller's initializer), then the name, NUL
 * Blocks: raw bytes, 8-aligned, no header; the caller keeps (offset, size).
 *
 * Allocation is the arena's (one atomic add). `get` checks a stored (offset,
 * size) before making a view: after the table, and ending at or below the bump
 * pointer. LLVM refuses a block that ends exactly at the bump pointer (it tests
 * offset + size >= size()); we accept it, so the last block written is readable.
 */
import { closedError, readOnlyError } from "../common/errors.ts";
import { optionalBoolean, optionalFunction, optionNames, refuseThenable, requireKnownOptions, requireNonNegativeInteger, type NotAPromise } from "../common/arguments.ts";
import { trieVariant } from "./broken-variants.ts";
import { corruptAt, headerMismatch, notHandedOut } from "./corruption.ts";
import { DatabaseFile, TableKind, type ByteViews, type RootTable } from "./database-file.ts";

export const dataAllocatorHeaderBytes = 24;
export const userHeaderSizeAt = 16;

export interface DataAllocatorOptions {
  /** The table's name; an existing file must hold a data allocator of this name. */
  name: string;
  /** Bytes: the file's mapping size, fixed when it is created; at most 2 GiB here. */
  capacity: number;
  /** Bytes of user header for a new file (default 0). An existing file must have the same, when given. */
  userHeaderBytes?: number;
  /** Fills a new file's user header (zeroed before), once, in the creating process. Synchronous: a promise is a TypeError. */
  initializeUserHeader?: (header: Uint8Array) => NotAPromise;
  allowUnsafeFileSystem?: boolean;
}

/** What an existing pool must be, for openReadOnly. */
export interface ReadOnlyDataAllocatorOptions {
  /** The table's name; the file must hold a data allocator of this name. */
  name: string;
  /** When given, the file's user header must be this size. */
  userHeaderBytes?: number;
  allowUnsafeFileSystem?: boolean;
}

const dataAllocatorOptionNames = optionNames<DataAllocatorOptions>({ name: true, capacity: true, userHeaderBytes: true, initializeUserHeader: true, allowUnsafeFileSystem: true });
const readOnlyDataAllocatorOptionNames = optionNames<ReadOnlyDataAllocatorOptions>({ name: true, userHeaderBytes: true, allowUnsafeFileSystem: true });

/** A block as LLVM's OnDiskPtr: its offset and a view of its bytes. */
export interface DataBlock {
  offset: number;
  data: Uint8Array;
}

/**
 * A persistent pool of variable-size blocks, addressed by file offset, shared by
 * every process that opens the file.
 *
 * ```ts
 * using pool = OnDiskDataAllocator.create("data.db", { name: "data", capacity: 1 << 30 });
 * const { offset, data } = pool.allocate(5); data.set(bytes);
 * pool.get(offset, 5); // the same bytes, in any process
 * ```
 */
export class OnDiskDataAllocator implements Disposable {
  readonly path: string;
  readonly name: string;
  readonly capacity: number;
  readonly userHeaderBytes: number;
  /** True when opened with openReadOnly: allocate throws ERR_ARENA_READ_ONLY. */
  readonly readOnly: boolean;
  #file: DatabaseFile | null;
  #bytes: Uint8Array | null;
  /** No block starts below this: the end of the table. */
  readonly #floor: number;
  #knownEnd: number;

  static create(path: string, options: DataAllocatorOptions): OnDiskDataAllocator {
    if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
    requireKnownOptions(options, dataAllocatorOptionNames);
    const requested = options.userHeaderBytes === undefined ? undefined : requireNonNegativeInteger(options.userHeaderBytes, "options.userHeaderBytes");
    if (requested !== undefined && requested > 0xffffffff - dataAllocatorHeaderBytes) throw new RangeError(`options.userHeaderBytes is too large: ${requested}`);
    const initialize = optionalFunction<(header: Uint8Array) => NotAPromise>(options.initializeUserHeader, "options.initializeUserHeader");
    const userHeaderBytes = requested ?? 0;
    const file = DatabaseFile.open(path, {
      capacity: options.capacity,
      allowUnsafeFileSystem: optionalBoolean(options.allowUnsafeFileSystem, "options.allowUnsafeFileSystem"),
      table: {
        kind: TableKind.dataAllocator,
        name: options.name,
        nameRelOffset: dataAllocatorHeaderBytes + userHeaderBytes,
        initialize: (_arena, views, tableOffset) => {
          views.view.setBigUint64(tableOffset + userHeaderSizeAt, BigInt(userHeaderBytes), true);
          const header = tableOffset + dataAllocatorHeaderBytes;
          views.bytes.fill(0, header, header + userHeaderBytes);
          // A promise would finish after the creation: refused, the creation undone (as a throw).
          const result = initialize?.(new Uint8Array(views.bytes.buffer as ArrayBuffer, header, userHeaderBytes));
          if (trieVariant.broken !== "async-initializers") refuseThenable(result, "options.initializeUserHeader");
        },
        judge: (views, table, size) => judgeDataAllocatorTable(views, table, size, path, options.name, requested),
      },
    });
    return new OnDiskDataAllocator(file, options.name);
  }

  /**
   * Opens the pool in the existing database file at `path` read-only (see
   * MappedFileRegionArena.openReadOnly): get and userHeader work (a write through
   * their views stays in this process, and in those views: what get() returns
   * afterwards still follows the file, see DatabaseFile.handoutView);
   * allocate throws ERR_ARENA_READ_ONLY.
   */
  static openReadOnly(path: string, options: ReadOnlyDataAllocatorOptions): OnDiskDataAllocator {
    if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
    requireKnownOptions(options, readOnlyDataAllocatorOptionNames);
    const requested = options.userHeaderBytes === undefined ? undefined : requireNonNegativeInteger(options.userHeaderBytes, "options.userHeaderBytes");
    const file = DatabaseFile.openReadOnly(
      path,
      {
        kind: TableKind.dataAllocator,
        name: options.name,
        judge: (views, table, size) => judgeDataAllocatorTable(views, table, size, path, options.name, requested),
      },
      { allowUnsafeFileSystem: optionalBoolean(options.allowUnsafeFileSystem, "options.allowUnsafeFileSystem") },
    );
    return new OnDiskDataAllocator(file, options.name);
  }

  private constructor(file: DatabaseFile, name: string) {
    const { table, views, path } = file;
    const stored = views.view.getBigUint64(table.offset + userHeaderSizeAt, true);
    this.path = path;
    this.name = name;
    this.capacity = file.arena.capacity;
    this.userHeaderBytes = Number(stored);
    this.readOnly = file.readOnly;
    this.#file = file;
    this.#bytes = views.bytes;
    this.#floor = table.end;
    // Through #refreshEnd: a bump pointer read after the views were made may be past them (a read-only file that grew).
    this.#knownEnd = 0;
    this.#refreshEnd();
  }

  /** Allocates `size` bytes (8-aligned) and returns its offset and a view. */
  allocate(size: number): DataBlock {
    const offset = this.#allocate(size, "allocate()");
    return { offset, data: new Uint8Array(this.#bytes!.buffer as ArrayBuffer, offset, size) };
  }

  /** Allocates `size` bytes and returns only the offset. */
  allocateOffset(size: number): number {
    return this.#allocate(size, "allocateOffset()");
  }

  #allocate(size: number, what: string): number {
    const file = this.#file;
    if (file === null) throw closedError(this.path);
    if (this.readOnly) throw readOnlyError(this.path, what);
    return file.arena.allocateOffset(size);
  }

  /**
   * A view of `size` bytes at `offset`, a stored block. ERR_ARENA_CORRUPT if they
   * are not wholly between the table's end and the bump pointer.
   */
  get(offset: number, size: number): Uint8Array {
    if (this.#bytes === null) throw closedError(this.path);
    requireNonNegativeInteger(offset, "offset");
    requireNonNegativeInteger(size, "size");
    const end = offset + size;
    if (offset < this.#floor || (end > this.#knownEnd && end > this.#refreshEnd())) {
      throw notHandedOut(this.path, offset, `a block of ${size} bytes`, `the blocks lie between the table end 0x${this.#floor.toString(16)} and the bump pointer 0x${this.#knownEnd.toString(16)}`);
    }
    // A read-only opener's views are not over the pages the library reads (DatabaseFile.handoutView).
    return this.#file!.handoutView(offset, size);
  }

  /** Reads the bump pointer again; a read-only file's views follow it, and #knownEnd never passes them. */
  #refreshEnd(): number {
    const file = this.#file!;
    const end = file.size;
    if (end > this.#bytes!.length) this.#bytes = file.latestViews().bytes;
    this.#knownEnd = Math.min(end, this.#bytes!.length);
    return this.#knownEnd;
  }

  /**
   * An ArrayBuffer of its own over the file from offset 0, covering at least
   * [0, end) of the stored blocks (ERR_ARENA_CORRUPT if `end` is past the bump
   * pointer): for views of blocks handed to callers, who may transfer the buffer
   * away without taking get()'s. Detached at close.
   */
  separateBuffer(end: number): ArrayBuffer {
    const file = this.#file;
    if (file === null) throw closedError(this.path);
    requireNonNegativeInteger(end, "end");
    if (end > this.#knownEnd && end > this.#refreshEnd()) {
      throw corruptAt(this.path, end, `the end of a block there is past the bump pointer 0x${this.#knownEnd.toString(16)}`);
    }
    return file.arena.separateBuffer(0, file.arena.readableBytes);
  }

  /** The offset of the first block: get() refuses anything below it. */
  get dataStart(): number {
    return this.#floor;
  }

  /** The user header: userHeaderBytes, a view of the file. */
  get userHeader(): Uint8Array {
    const file = this.#file;
    if (file === null) throw closedError(this.path);
    return file.handoutView(file.table.offset + dataAllocatorHeaderBytes, this.userHeaderBytes);
  }

  /**
   * Bytes, not blocks: the bump pointer of the file, where the next allocation
   * starts (LLVM's size()). Blocks carry no header, so the pool cannot count
   * them: count what points at them (a trie's records, say).
   */
  get size(): number {
    return this.#file?.size ?? 0;
  }

  get closed(): boolean {
    return this.#file === null;
  }

  close(): void {
    const file = this.#file;
    if (file === null) return;
    this.#file = null;
    this.#bytes = null;
    file.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Judges an existing data allocator table's header: the user header inside the file, of the size asked for. */
function judgeDataAllocatorTable(views: ByteViews, table: RootTable, size: number, path: string, name: string, requested: number | undefined): void {
  const stored = readDataAllocatorHeader(views, table, size, path);
  if (requested !== undefined && stored !== requested) {
    throw headerMismatch(path, name, `mismatched user header size (expected: ${requested}, observed: ${stored})`);
  }
}

/**
 * The stored user header size of a data allocator table, checked for what any
 * pool needs (also by `mapped-file-arena inspect`): the header and user header
 * below the bump pointer, and the name right after the user header, where LLVM
 * writes it. The table's end (table.end, the floor of every block) comes from
 * the name's place: a name inside the user header would hand out its bytes as
 * blocks. ERR_ARENA_CORRUPT otherwise.
 */
export function readDataAllocatorHeader(views: ByteViews, table: RootTable, size: number, path: string): number {
  if (table.offset + dataAllocatorHeaderBytes > size) throw corruptAt(path, table.offset, "the data allocator table header runs past the bump pointer");
  const stored = views.view.getBigUint64(table.offset + userHeaderSizeAt, true);
  if (BigInt(table.offset + dataAllocatorHeaderBytes) + stored > BigInt(size)) {
    throw corruptAt(path, table.offset + userHeaderSizeAt, `user header size ${stored} runs past the bump pointer 0x${size.toString(16)}`);
  }
  const userHeaderBytes = Number(stored);
  if (table.nameRelOffset !== dataAllocatorHeaderBytes + userHeaderBytes) {
    throw corruptAt(path, table.offset + 4, `table name offset ${table.nameRelOffset} is not right after the ${userHeaderBytes}-byte user header (${dataAllocatorHeaderBytes + userHeaderBytes})`);
  }
  return userHeaderBytes;
}
