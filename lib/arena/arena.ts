/**
 * MappedFileRegionArena: a persistent bump-pointer arena in a memory-mapped file,
 * shared lock-free by every thread and process that opens it.
 *
 * The effect we want: many processes allocate from one file at once, each
 * allocation costs one atomic add, nothing handed out is ever handed out twice,
 * and nothing handed out is lost when a process dies or the disk fills.
 *
 * Why the obvious ways do not work: a lock per allocation serializes every writer
 * and a crashed holder stalls the rest; growing the file and remapping as it fills
 * invalidates every view other threads hold; writing into a sparse file whose disk
 * is full does not fail, it raises SIGBUS and kills the process.
 *
 * The way chosen (LLVM's): the file is made as large as its fixed capacity at once,
 * sparse, and mapped whole, so views never move. The bump pointer lives in the
 * file's header, and allocating is one atomic add on it (hardware atomics on the
 * shared mapping are atomic across processes). Disk is reserved with fallocate
 * ahead of the bump pointer, so a full disk is an ENOSPC from allocate, never a
 * SIGBUS from a write. The last process to close shrinks the file to what it uses.
 * See protocol.ts for opening and closing, mapping.ts for views.
 *
 * What it gives up: the capacity is fixed when the file is created; the mapping
 * costs address space (not memory or disk) for the whole capacity in every
 * process; space is never freed; and it is safe only where processes share one page
 * cache: one machine, a local file system.
 */
import { ArenaError, closedError, notCreatedYet, readOnlyError } from "../common/errors.ts";
import { errnoName, isPreallocationUnsupported } from "../native/errno.ts";
import {
  alignmentBytes,
  allocatedSizeWord,
  bumpPointerWord,
  fullSizeBytes,
  headerSizeBytes,
  hex,
  raiseTo,
  settleAtMost,
} from "./header.ts";
import { closeArena, headerOf, openArena, type OpenArena } from "./protocol.ts";
import { closeArenaReadOnly, extendReadOnlyView, handoutMapping, openArenaReadOnly } from "./read-only.ts";
import type { Mapping } from "./mapping.ts";
import { wordLoadsFor, type WordLoads } from "./word-loads.ts";
import { lentHeader } from "./live-files.ts";
import { readAt, reserveDisk } from "../native/native.ts";
import { BlockAllocator } from "./block-allocator.ts";
import { arenaVariant } from "./broken-variants.ts";
import {
  optionalBoolean,
  optionalFunction,
  refuseThenable,
  requireBytesLength,
  requireNonNegativeInteger,
  requireKnownOptions,
  requireString,
  optionNames,
  type NotAPromise,
} from "../common/arguments.ts";

export interface ArenaOptions {
  /** Bytes: the size of the mapping and the most the file can ever hold. Sparse on disk. */
  capacity: number;
  /** Where the 32-byte header sits; a multiple of 8. Bytes before it are yours. Default 0. */
  headerOffset?: number;
  /**
   * Runs once, in the process that creates the file, with exclusive access and the
   * header initialized. If it throws, the file is left empty and the error is rethrown.
   *
   * It must be synchronous. create() is, and the creation ends when onCreate
   * returns: an async function returns at its first `await`, other openers would
   * then see the file before it is initialized, and a later rejection would have
   * no caller to reach. So a thenable result is refused with a TypeError (the file
   * is left empty and the promise's rejection is handled), and the type says so.
   */
  onCreate?: (arena: MappedFileRegionArena) => NotAPromise;
  /** Open even on NFS, SMB or FUSE, where concurrent openers can corrupt the arena. */
  allowUnsafeFileSystem?: boolean;
}

export interface ReadOnlyArenaOptions {
  /** Where the header sits, as the file was created with. Default 0. */
  headerOffset?: number;
  /** Open even on NFS, SMB or FUSE, where a reader may see stale bytes. */
  allowUnsafeFileSystem?: boolean;
}

const arenaOptionNames = optionNames<ArenaOptions>({ capacity: true, headerOffset: true, onCreate: true, allowUnsafeFileSystem: true });
const readOnlyArenaOptionNames = optionNames<ReadOnlyArenaOptions>({ headerOffset: true, allowUnsafeFileSystem: true });

/**
 * LLVM reserves 1 MiB past the old reserved size, however large the allocation. We
 * reserve to the end of the allocation plus this, so large allocations are covered
 * and small ones amortize the fallocate call.
 */
const preallocationIncrementBytes = 1024 * 1024;

/** Increments for sizes up to this are pre-made BigInts; making one costs more than the add. */
const cachedIncrementLimitBytes = 4096;
const cachedIncrements: bigint[] = Array.from(
  { length: cachedIncrementLimitBytes / alignmentBytes + 1 },
  (_, index) => BigInt(index * alignmentBytes),
);

const constructing = Symbol("constructing");
/** #sizeWithoutTouching's pread target, reused (close is synchronous). */
const sizeWord = new BigUint64Array(1);
const sizeWordBytes = new Uint8Array(sizeWord.buffer);
const twoToThe64 = 2n ** 64n;

/**
 * A persistent bump-pointer arena in a memory-mapped file, shared lock-free by
 * every thread and process that opens the same path. LLVM's file format and locks.
 *
 * ```ts
 * using arena = MappedFileRegionArena.create("data.arena", { capacity: 1 << 30 });
 * const offset = arena.append(new TextEncoder().encode("hello"));
 * arena.bytes(offset, 5); // the same bytes, in this process or any other
 * ```
 */
export class MappedFileRegionArena implements Disposable {
  /** Every allocation starts at a multiple of this many bytes. */
  static readonly alignment = alignmentBytes;

  /** The file this arena lives in. */
  readonly path: string;
  /** Bytes: the mapping size, fixed by the creator. A stored capacity wins over a requested one. */
  readonly capacity: number;
  /** Where the header sits. The first allocation of a new arena is at headerOffset + 32. */
  readonly headerOffset: number;
  /** True for an arena from openReadOnly(): every allocation method throws ERR_ARENA_READ_ONLY. */
  readonly readOnly: boolean;

  // Hot-path state, kept in fields so allocation reads no more than it must.
  /**
   * The header words over the mapping: null when closed, and until first used
   * (an open and close that never looks at the header makes no buffer over the
   * mapping and never faults its header page in).
   */
  #header: BigUint64Array | null;
  /** The header for allocation: null when closed, read-only, or not made yet (#headerForAllocation). */
  #allocationHeader: BigUint64Array | null;
  /** How `size` loads the bump pointer: a read-only opener's loads must not write (word-loads.ts). */
  readonly #loads: WordLoads;
  /** What `size` and views are bounded by: the capacity, or a read-only opener's mapped length. */
  #visibleEnd: number;
  #open: OpenArena | null;
  /**
   * Allocations that end at or below this need no disk reservation: what this
   * instance proved or reserved itself, capped at the capacity so one comparison
   * also catches "full". 0 until the first allocation (which takes the slow path).
   */
  #reservedEnd = 0;
  /**
   * The prefix of the file this instance proved reserved (at open) or reserved
   * itself. Never the header's allocatedSize: anyone may write that word while
   * we have the arena open (LLVM stores st_blksize * 512 there), and trusting it
   * would make a write on a full disk SIGBUS. The word is kept up for LLVM only.
   */
  #provenEnd: number;
  #sizeAtClose = 0;
  /** headerOffset + 32: no allocation starts below it. */
  readonly #firstOffset: number;
  /** True while onCreate runs: create() owns the files until it returns. */
  #creating = false;

  /** Opens the arena at `path`, creating it if it does not exist. */
  static create(path: string, options: ArenaOptions): MappedFileRegionArena {
    requireString(path, "path");
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`options must be an object with a capacity, got ${options === null ? "null" : typeof options}`);
    }
    requireKnownOptions(options, arenaOptionNames);
    const capacity = requireNonNegativeInteger(options.capacity, "options.capacity");
    const headerOffset = requireNonNegativeInteger(options.headerOffset ?? 0, "options.headerOffset");
    if (headerOffset % alignmentBytes !== 0) {
      throw new RangeError(`options.headerOffset must be a multiple of ${alignmentBytes}, got ${headerOffset}`);
    }
    if (capacity < headerOffset + headerSizeBytes) {
      throw new RangeError(
        `options.capacity must be at least headerOffset + ${headerSizeBytes} = ${headerOffset + headerSizeBytes}, got ${capacity}`,
      );
    }
    const onCreate = optionalFunction<(arena: MappedFileRegionArena) => unknown>(options.onCreate, "options.onCreate");
    const allowUnsafeFileSystem = optionalBoolean(options.allowUnsafeFileSystem, "options.allowUnsafeFileSystem");

    let created: MappedFileRegionArena | undefined;
    const opened = openArena({ path, capacity, headerOffset, allowUnsafeFileSystem }, (arena) => {
      const arenaBeingCreated = new MappedFileRegionArena(constructing, arena);
      created = arenaBeingCreated;
      arenaBeingCreated.#creating = true;
      try {
        refuseThenable(onCreate?.(arenaBeingCreated), "options.onCreate");
        arenaBeingCreated.#creating = false;
      } catch (error) {
        arenaBeingCreated.#creating = false;
        // openArena undoes the creation (and detaches onCreate's views); this
        // instance must not be usable afterwards either.
        arenaBeingCreated.#open = null;
        arenaBeingCreated.#header = null;
        arenaBeingCreated.#allocationHeader = null;
        throw error;
      }
    });
    return created ?? new MappedFileRegionArena(constructing, opened);
  }

  /**
   * Opens the existing arena at `path` read-only: it works on a read-only mount
   * and on a file the caller may only read, and changes nothing on disk. Every
   * allocation method throws ArenaError ERR_ARENA_READ_ONLY. Views reach what no
   * writer's close can cut (`readableBytes`); a write through one stays in this
   * process (a private copy of the page) and never reaches the file. See
   * docs/read-only.md and read-only.ts.
   */
  static openReadOnly(path: string, options: ReadOnlyArenaOptions = {}): MappedFileRegionArena {
    requireString(path, "path");
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`options must be an object, got ${options === null ? "null" : typeof options}`);
    }
    requireKnownOptions(options, readOnlyArenaOptionNames);
    const headerOffset = requireNonNegativeInteger(options.headerOffset ?? 0, "options.headerOffset");
    if (headerOffset % alignmentBytes !== 0) {
      throw new RangeError(`options.headerOffset must be a multiple of ${alignmentBytes}, got ${headerOffset}`);
    }
    const allowUnsafeFileSystem = optionalBoolean(options.allowUnsafeFileSystem, "options.allowUnsafeFileSystem");
    try {
      return new MappedFileRegionArena(constructing, openArenaReadOnly({ path, headerOffset, allowUnsafeFileSystem }));
    } catch (error) {
      throw notCreatedYet(error, path, "arena", "MappedFileRegionArena.create(path, { capacity })");
    }
  }

  private constructor(token: typeof constructing, arena: OpenArena) {
    if (token !== constructing) throw new TypeError("use MappedFileRegionArena.create(path, options)");
    this.path = arena.path;
    this.capacity = arena.capacity;
    this.headerOffset = arena.headerOffset;
    this.readOnly = arena.readOnly === true;
    this.#header = arena.header;
    this.#allocationHeader = arena.readOnly === true ? null : arena.header;
    this.#loads = wordLoadsFor(this.readOnly);
    this.#visibleEnd = arena.visibleBytes ?? arena.mapping.lengthBytes;
    this.#open = arena;
    this.#firstOffset = arena.headerOffset + headerSizeBytes;
    this.#provenEnd = arena.reservedBytes;
  }

  /** Returns the file offset of a new allocation of `size` bytes, aligned to 8. */
  allocateOffset(size: number): number {
    const header = this.#allocationHeader ?? this.#headerForAllocation("allocateOffset()");
    if (!(size >= 0 && size <= this.capacity && Number.isInteger(size))) this.#rejectSize(size);
    const rounded = Math.ceil(size / alignmentBytes) * alignmentBytes;
    const increment = rounded <= cachedIncrementLimitBytes ? cachedIncrements[rounded / alignmentBytes]! : BigInt(rounded);
    // Unsigned: whatever the word holds, oldEnd is never negative, and anything
    // past the capacity fails the first comparison (#reservedEnd <= capacity).
    // The second catches a word below the first allocation, which only another
    // process's write (or an add that wrapped past 2^64 after one) can leave.
    const previous = Atomics.add(header, bumpPointerWord, increment);
    const oldEnd = Number(previous);
    const newEnd = oldEnd + rounded;
    if (newEnd > this.#reservedEnd || oldEnd < this.#firstOffset) this.#reserveOrFail(header, previous, increment);
    return oldEnd;
  }

  /**
   * Allocates `size` bytes at `offset` if the bump pointer is at `offset` now, and
   * returns whether it did: a compare-and-swap, where allocateOffset is an add. The
   * disk is reserved before the swap, and only when the bump pointer is at `offset`
   * (a stale offset reserves nothing), so a refusal (ERR_ARENA_FULL, ENOSPC) has
   * claimed nothing, and an allocation, once another process can see it, is never
   * taken back (allocateOffset takes its add back when the reservation fails after
   * it). False when someone allocated first: read `size` and try again.
   */
  tryAllocateAt(offset: number, size: number): boolean {
    const header = this.#allocationHeader ?? this.#headerForAllocation("tryAllocateAt()");
    requireNonNegativeInteger(offset, "offset");
    if (!(size >= 0 && size <= this.capacity && Number.isInteger(size))) this.#rejectSize(size);
    if (offset % alignmentBytes !== 0) throw new RangeError(`offset must be a multiple of ${alignmentBytes}, got ${offset}`);
    if (offset < this.#firstOffset) {
      // The bump pointer itself may be down there (set by another process): full,
      // as for allocateOffset, rather than an allocation inside the header.
      if (Atomics.load(header, bumpPointerWord) === BigInt(offset)) this.#refuseBroken(header, BigInt(offset), 0n);
      throw new RangeError(`offset must be at least ${this.#firstOffset} (the end of the header), got ${offset}`);
    }
    const newEnd = offset + Math.ceil(size / alignmentBytes) * alignmentBytes;
    if (newEnd > this.capacity) {
      throw new ArenaError("ERR_ARENA_FULL", `arena is full: ${size} bytes at ${offset} do not fit in the capacity ${this.capacity} of ${this.path}`, {
        path: this.path,
      });
    }
    const expected = BigInt(offset);
    if (newEnd > this.#reservedEnd) {
      // Only for an offset the bump pointer is at: reserving first for any offset
      // would let a stale or hostile one reserve real disk up to the capacity and
      // refuse nothing. Reserved, the swap may still lose to another allocation
      // (what it reserved lies just past the used end, where the next ones go).
      if (Atomics.load(header, bumpPointerWord) !== expected) return false;
      this.#reserveThrough(header, newEnd);
    }
    return Atomics.compareExchange(header, bumpPointerWord, expected, BigInt(newEnd)) === expected;
  }

  /** Allocates `size` bytes and returns a view of them (length `size`, zero-copy). */
  allocate(size: number): Uint8Array {
    const open = this.#open;
    if (open === null || open.readOnly) throw this.#cannotAllocate("allocate()");
    // Larger than the capacity is "full" (from allocateOffset), not a view problem.
    if (size > open.mapping.maxViewBytes && size <= this.capacity) this.#rejectViewLength(size, "size");
    return open.mapping.view(this.allocateOffset(size), size);
  }

  /** Allocates room for `bytes`, copies them in, and returns their offset. */
  append(bytes: Uint8Array): number {
    const open = this.#open;
    if (open === null || open.readOnly) throw this.#cannotAllocate("append()");
    const length = requireBytesLength(bytes, "bytes");
    if (length > open.mapping.maxViewBytes && length <= this.capacity) this.#rejectViewLength(length, "bytes.length");
    const offset = this.allocateOffset(length);
    // Into a long-lived view: no view made per call (see Mapping.write).
    open.mapping.write(offset, bytes);
    return offset;
  }

  /**
   * A zero-copy view of `length` bytes at file offset `offset`: anything inside the
   * capacity, including the bytes before headerOffset. Read-only: anything below
   * `readableBytes`, which grows as writers grow the file; writes through it stay in this process.
   */
  bytes(offset: number, length: number): Uint8Array {
    return this.#viewableMapping(offset, length).view(offset, length);
  }

  /**
   * An ArrayBuffer of its own over [offset, offset + length) of the mapping, with
   * the bounds of bytes(): for a layer that hands views to callers, so that a
   * caller who transfers a view's buffer away (structuredClone, a byte stream's
   * enqueue) takes only this one, not the buffer bytes() views share. Detached
   * at close like every live view; held weakly, so one the caller drops is
   * collected (but then its mapping's range is not reused after close: see
   * mapping.ts). Each call makes a new buffer (~1 us): keep it. Length 0: an
   * empty buffer of its own.
   * Read-only (POSIX): over a second mapping of the file, so that a caller's
   * write through it (which copies the page into this process) leaves the
   * pages bytes() views read unchanged, following the file (read-only.ts
   * handoutMapping); writes through bytes() views are not seen here either.
   */
  separateBuffer(offset: number, length: number): ArrayBuffer {
    const mapping = this.#viewableMapping(offset, length);
    const open = this.#open!;
    return (open.readOnly ? handoutMapping(open) : mapping).separateBuffer(offset, length);
  }

  /**
   * separateBuffer, read-only (POSIX): over a new second mapping, for a layer
   * that found bytes of the current one differ from the file's (a caller wrote
   * through a view: that page is this process's copy now). Buffers made earlier
   * keep their mapping, with the caller's writes, until close. Costs one mapping
   * of the capacity (address space). A writer: separateBuffer.
   */
  freshSeparateBuffer(offset: number, length: number): ArrayBuffer {
    const mapping = this.#viewableMapping(offset, length);
    const open = this.#open!;
    return (open.readOnly ? handoutMapping(open, true) : mapping).separateBuffer(offset, length);
  }

  /** The mapping, once [offset, offset + length) is checked to be viewable in one piece. */
  #viewableMapping(offset: number, length: number): Mapping {
    const open = this.#open;
    if (open === null) throw closedError(this.path);
    requireNonNegativeInteger(offset, "offset");
    requireNonNegativeInteger(length, "length");
    if (offset + length > this.#visibleEnd && !this.#extendView(offset + length)) this.#rejectRange(offset, length);
    if (length > open.mapping.maxViewBytes) this.#rejectViewLength(length, "length");
    return open.mapping;
  }

  /**
   * A block allocator over this arena: it takes blocks of `blockSizeBytes` with one
   * atomic add each and hands out small allocations from them with plain arithmetic.
   * For one thread's many small allocations; see block-allocator.ts for when to use it.
   */
  blockAllocator(blockSizeBytes: number): BlockAllocator {
    const open = this.#open;
    if (open === null || open.readOnly) throw this.#cannotAllocate("blockAllocator()");
    return new BlockAllocator(this, blockSizeBytes, {
      mapping: open.mapping,
      returnTail: (blockEnd, usedEnd) => this.#returnTail(blockEnd, usedEnd),
    });
  }

  /** The bump pointer: the file offset where the next allocation would start. */
  get size(): number {
    const header = this.#header ?? this.#headerIfOpen();
    if (header === null) return this.#sizeAtClose;
    const bumpPointer = Number(this.#loads.uint64(header, bumpPointerWord));
    return bumpPointer <= this.#visibleEnd ? bumpPointer : this.#sizePastView(bumpPointer);
  }

  /** The bump pointer, capped at what this instance can view now, without extending it. */
  #sizeInView(open: OpenArena): number {
    return Math.min(Number(this.#loads.uint64(this.#header ?? headerOf(open), bumpPointerWord)), this.#visibleEnd);
  }

  /**
   * A reader's size at close: never by extending its view, and never an error,
   * so that close() releases the locks and descriptors whatever happens (a
   * reader left open would keep every writer from shrinking the file).
   */
  #sizeAtReadOnlyClose(open: OpenArena): number {
    if (this.#header !== null) return this.#sizeInView(open);
    try {
      return this.#sizeWithoutTouching(open);
    } catch {
      return this.#sizeInView(open);
    }
  }

  /**
   * The bump pointer is past what this instance can view. A writer: past the
   * capacity, only while an overflowing allocation backs out, and that is full.
   * A reader: a writer has grown the file since it last looked; look again.
   */
  #sizePastView(bumpPointer: number): number {
    this.#extendView(bumpPointer);
    // Past the capacity (full): what the last close settles the word to.
    return Math.min(bumpPointer, this.#visibleEnd, fullSizeBytes(this.capacity));
  }

  /** A reader's view grown to what it may now touch (read-only.ts), if that reaches `end`; whether it does now. */
  #extendView(end: number): boolean {
    const open = this.#open;
    if (open === null || !open.readOnly || this.#visibleEnd >= this.capacity) return false;
    this.#visibleEnd = extendReadOnlyView(open);
    return end <= this.#visibleEnd;
  }

  /**
   * Bytes `bytes()` can reach now: the capacity, or for a read-only arena what no
   * writer's close can cut: the file's length when it last looked (at open, or
   * when `size` or `bytes()` found the bump pointer past it), and without
   * PATH.shared never past the bump pointer (read-only.ts).
   */
  get readableBytes(): number {
    return this.#visibleEnd;
  }

  get closed(): boolean {
    return this.#open === null;
  }

  /**
   * Writes the mapping's dirty pages to the file and waits (msync MS_SYNC). On a
   * read-only arena it does nothing: this process has no bytes of its own in the
   * file, and what it wrote through views was never meant for it.
   */
  sync(): void {
    const open = this.#open;
    if (open === null) throw closedError(this.path);
    if (open.readOnly) return;
    open.mapping.sync();
  }

  /**
   * Detaches every view this arena handed out, unmaps, releases the locks and
   * closes the files. The last opener anywhere shrinks the file to `size`.
   * Calling it again does nothing.
   */
  close(): void {
    const open = this.#open;
    if (open === null) return;
    if (this.#creating) {
      throw new ArenaError(
        "ERR_ARENA_CREATING",
        `close() was called inside onCreate for ${this.path}; create() finishes (or undoes) the creation ` +
          `and hands the arena to its caller, who closes it`,
        { path: this.path },
      );
    }
    this.#sizeAtClose = open.readOnly ? this.#sizeAtReadOnlyClose(open) : this.#header !== null ? this.size : this.#sizeWithoutTouching(open);
    this.#open = null;
    this.#header = null;
    this.#allocationHeader = null;
    if (open.readOnly) closeArenaReadOnly(open);
    else closeArena(open);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The slow path of allocateOffset: the allocation ends past what this instance
   * knows to be reserved, or the word was out of range. Either it does not fit
   * (full), or the word was broken by another process (full), or it lies inside
   * what this instance proved at open, or we reserve the disk now (a range that
   * others reserved already costs only a cheap, redundant fallocate).
   */
  #reserveOrFail(header: BigUint64Array, previous: bigint, increment: bigint): void {
    const oldEnd = Number(previous);
    const newEnd = oldEnd + Number(increment);
    const broken = oldEnd < this.#firstOffset || previous + increment >= twoToThe64;
    if (broken && arenaVariant.broken !== "no-wrap-check") this.#refuseBroken(header, previous, increment);
    if (newEnd > this.capacity) this.#refuseFull(header, oldEnd, newEnd);
    try {
      this.#reserveThrough(header, newEnd);
    } catch (error) {
      // Nothing was written there yet; if nobody allocated after us, undo the add.
      Atomics.compareExchange(header, bumpPointerWord, BigInt(newEnd), BigInt(oldEnd));
      throw error;
    }
  }

  /**
   * Makes sure the disk is reserved up to `newEnd` (within the capacity), or
   * throws the errno. Only what this instance proved or reserved itself counts
   * (#provenEnd), never the shared word.
   */
  #reserveThrough(header: BigUint64Array, newEnd: number): void {
    // Every instance's first allocation comes here (#reservedEnd starts at 0).
    const capacity = this.capacity;
    let reserved = this.#provenEnd;
    if (arenaVariant.broken === "trust-allocated-size") reserved = Math.max(reserved, Number(Atomics.load(header, allocatedSizeWord)));
    if (newEnd > reserved) {
      let target = Math.min(capacity, newEnd + preallocationIncrementBytes);
      let errno = reserveDisk(this.#open!.mainFd, reserved, target);
      if (errno !== 0 && target > newEnd && !isPreallocationUnsupported(errno)) {
        // The increment does not fit but the allocation itself may: on a nearly
        // full disk, reserve just up to its end rather than refuse what fits.
        target = newEnd;
        errno = reserveDisk(this.#open!.mainFd, reserved, target);
      }
      if (errno !== 0 && !isPreallocationUnsupported(errno)) {
        const code = errnoName(errno);
        throw new ArenaError(code, `cannot reserve disk up to ${newEnd} in ${this.path}: ${code}`, {
          syscall: "fallocate",
          path: this.path,
          errno,
        });
      }
      // For LLVM openers (raiseTo leaves the creation marker alone: it is above any size).
      raiseTo(header, allocatedSizeWord, target);
      reserved = target;
      this.#provenEnd = target;
    }
    this.#reservedEnd = Math.min(reserved, capacity);
  }

  /**
   * The allocation [oldEnd, newEnd) does not fit. The allocation that crossed the
   * end (its start was still inside) puts the bump pointer back to its start, as
   * LLVM does: every add after it started past the end and failed too, so nothing
   * was handed out there.
   *
   * One that started past the end cannot give its own add back in general (others
   * may have added since), and if nobody did, a caller retrying while full would
   * climb the word by its size on every try until it wrapped, and the arena would
   * then hand out offsets inside the header. So it settles the word back down to
   * just past the capacity (#overflowMark). That is safe whenever it happens: any
   * value past the capacity means "full" to every allocator, and the crossing
   * allocation's put-back (an exchange, not a compare-and-swap) still restores
   * its exact start. The word stays within the capacity plus what is in flight.
   */
  /** What an allocation that starts past the end settles the bump pointer back to; see #refuseFull. */
  #overflowMark(): bigint {
    // Aligned, past the capacity even when it is not a multiple of 8: another
    // opener judging the header meanwhile must not find an unaligned word.
    return BigInt(fullSizeBytes(this.capacity) + alignmentBytes);
  }

  #refuseFull(header: BigUint64Array, oldEnd: number, newEnd: number): never {
    const capacity = this.capacity;
    if (oldEnd <= capacity) Atomics.exchange(header, bumpPointerWord, BigInt(oldEnd));
    else settleAtMost(header, bumpPointerWord, this.#overflowMark());
    throw new ArenaError(
      "ERR_ARENA_FULL",
      `arena is full: ${newEnd - oldEnd} bytes do not fit in the capacity ${capacity} of ${this.path}`,
      { path: this.path },
    );
  }

  /**
   * The word was below the first allocation (another process wrote it), or this
   * add wrapped it past 2^64 (another process wrote a value near it: the open-
   * time bound of 2^62 cannot cover later writes). Either way nothing can tell
   * where the handed-out bytes end, so the arena is made full: the word, whose
   * value after our add is known exactly, is swapped to just past the capacity
   * unless someone added since (then their allocation repairs it, or starts
   * inside the arena). Nothing at or below the header is ever handed out.
   */
  #refuseBroken(header: BigUint64Array, previous: bigint, increment: bigint): never {
    const after = BigInt.asUintN(64, previous + increment);
    Atomics.compareExchange(header, bumpPointerWord, after, this.#overflowMark());
    throw new ArenaError(
      "ERR_ARENA_FULL",
      `arena is full: its bump pointer (${hex(previous)}) was set outside the arena by another process; ${this.path} takes no more allocations`,
      { path: this.path },
    );
  }

  /**
   * The size at close, for an instance that never touched the header page, so
   * that an open and close that did nothing else never faults a page of its
   * mapping in (the fault and its unmapping cost ~10 us of an open and close's
   * ~20): through the header of another arena of this thread that has the file
   * open and has made its header (live-files.ts: the same page-cache page, so
   * an atomic load), else read from the file. pread copies bytes, not one
   * atomic word, and could tear against another process's add; two equal reads
   * in a row are a value the pointer held. Past a few tries (or a short read),
   * through the mapping after all.
   */
  #sizeWithoutTouching(open: OpenArena): number {
    const lent = lentHeader(open.live, this.headerOffset);
    if (lent !== null) return Math.min(Number(Atomics.load(lent, bumpPointerWord)), this.#visibleEnd);
    const word = sizeWord;
    const bytes = sizeWordBytes;
    let previous: bigint | undefined;
    for (let attempt = 0; attempt < 4; attempt++) {
      if (readAt(open.mainFd, bytes, this.headerOffset, this.path) !== bytes.length) break;
      if (word[0] === previous) return Math.min(Number(previous), this.#visibleEnd);
      previous = word[0]!;
    }
    return open.readOnly ? this.#sizeInView(open) : this.size;
  }

  /**
   * For BlockAllocator: moves the bump pointer back from `blockEnd` to `usedEnd`,
   * only if it is still at `blockEnd` (nothing was allocated after the block).
   * Returns whether it did. The disk reserved for the tail stays reserved.
   */
  /** The header, made now if this open instance has not used it yet; null when closed. */
  #headerIfOpen(): BigUint64Array | null {
    const open = this.#open;
    if (open === null) return null;
    const header = headerOf(open);
    this.#header = header;
    if (!open.readOnly) this.#allocationHeader = header;
    return header;
  }

  /** allocateOffset's and tryAllocateAt's way out of a null #allocationHeader: made now, or the error. */
  #headerForAllocation(what: string): BigUint64Array {
    const open = this.#open;
    if (open === null || open.readOnly) throw this.#cannotAllocate(what);
    return this.#headerIfOpen()!;
  }

  #returnTail(blockEnd: number, usedEnd: number): boolean {
    const header = this.#header ?? this.#headerIfOpen();
    if (header === null) return false;
    const expected = BigInt(blockEnd);
    return Atomics.compareExchange(header, bumpPointerWord, expected, BigInt(usedEnd)) === expected;
  }

  #cannotAllocate(what: string): ArenaError {
    return this.#open === null ? closedError(this.path) : readOnlyError(this.path, what);
  }

  #rejectRange(offset: number, length: number): never {
    if (this.#visibleEnd === this.capacity) {
      throw new RangeError(`offset + length (${offset} + ${length}) is past the capacity ${this.capacity}`);
    }
    throw new RangeError(
      `offset + length (${offset} + ${length}) is past the end of the file (${this.#visibleEnd} bytes), ` +
        `which this read-only arena cannot extend`,
    );
  }

  #rejectSize(size: unknown): never {
    requireNonNegativeInteger(size, "size");
    throw new ArenaError(
      "ERR_ARENA_FULL",
      `arena is full: ${size} bytes is more than the capacity ${this.capacity} of ${this.path}`,
      { path: this.path },
    );
  }

  #rejectViewLength(length: number, name: string): never {
    throw new RangeError(
      `${name} (${length}) is longer than the longest single view of this arena ` +
        `(${this.#open!.mapping.maxViewBytes} bytes: one JavaScript buffer holds at most 4 GiB); ` +
        `use allocateOffset() and bytes() in pieces`,
    );
  }
}
