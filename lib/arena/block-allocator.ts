/**
 * BlockAllocator: hands out small allocations from blocks it takes from an arena,
 * like a thread-local allocation buffer. This goes beyond LLVM's arena.
 *
 * The effect we want: small allocations (records, nodes, strings) at the cost of
 * a few additions, and many processes allocating at once without slowing each
 * other down.
 *
 * Why the arena alone does not give it: every arena allocation is one atomic add
 * on the bump pointer in the shared header. In JavaScript that add costs ~20-30 ns
 * (BigInt64Array atomics go through the runtime and box their result), and when
 * two processes allocate at once the header's cache line moves between cores on
 * every add.
 *
 * The way chosen: take a block of `blockSizeBytes` with one arena allocation, then
 * carve allocations out of it with plain arithmetic on two numbers held in this
 * object. Only when the block is used up does it touch the shared header again.
 * When it lets go of a block (to take the next, or on close), it gives the unused
 * tail back with one compare-and-swap of the bump pointer from the block's end to
 * the used end, which succeeds only while the block is still the arena's last
 * allocation. Allocations bigger than the block go to the arena directly. When a
 * whole block no longer fits in what is left of the capacity, the allocation goes
 * to the arena alone, without asking for the block (an add that overflows would
 * make other allocators see the arena full for a moment); when the disk cannot
 * hold a block, the allocation alone is tried before ENOSPC.
 *
 * When to use it:
 *  - Many small allocations or appends from one thread of one process: one
 *    BlockAllocator per thread (per Worker), used by that thread only. It is not
 *    safe to share between Workers: its state is plain JavaScript numbers.
 *  - Several processes appending at once: each one's allocations touch the
 *    shared header once per block instead of once per allocation.
 * When not to:
 *  - When allocations must be ordered in the file as they are made across
 *    processes (a log that readers scan in order, for example): a block
 *    allocator's allocations are ordered within its blocks, and blocks of
 *    different allocators interleave.
 *  - When space matters more than speed: a tail that cannot be given back (some
 *    other allocation came after the block) stays unused forever, up to one block
 *    per allocator per block taken in a contended arena; and a process that dies
 *    with a block in hand leaves its tail unused. Choose a block size that is
 *    small against the arena's capacity (64 KiB is a good start).
 *  - When allocations are large (near the block size): they gain nothing.
 *
 * Allocations from a block allocator are aligned to 8 and disjoint from every other
 * allocation of the arena, in any process; the bump pointer counts a block as used
 * until its tail is given back, so the arena's `size` may be ahead of what is
 * handed out.
 */
import { ArenaError, closedError } from "../common/errors.ts";
import { alignmentBytes } from "./header.ts";
import { arenaVariant } from "./broken-variants.ts";
import { requireBytesLength, requireNonNegativeInteger } from "../common/arguments.ts";
import type { MappedFileRegionArena } from "./arena.ts";
import type { Mapping } from "./mapping.ts";

/** What the arena lends its block allocators; see MappedFileRegionArena.blockAllocator. */
export interface BlockAllocatorHooks {
  mapping: Mapping;
  /** Moves the bump pointer from blockEnd back to usedEnd if it is still at blockEnd. */
  returnTail(blockEnd: number, usedEnd: number): boolean;
}

/** The largest block: keeps block arithmetic in small integers, and a block viewable whole. */
const maxBlockSizeBytes = 2 ** 30;
/** #end when no block is held: every allocation then takes the slow path. */
const noBlock = -1;

export class BlockAllocator implements Disposable {
  /** The arena the blocks come from. */
  readonly arena: MappedFileRegionArena;
  /** Bytes taken from the arena at a time. */
  readonly blockSizeBytes: number;
  readonly #hooks: BlockAllocatorHooks;
  /** File offset of the first free byte of the current block. */
  #next = 0;
  /** File offset where the current block ends, or noBlock. */
  #end = noBlock;
  #closed = false;
  /** How many tails were given back, and how many could not be (something came after). */
  #tailsReturned = 0;
  #tailsLost = 0;

  /** Use arena.blockAllocator(blockSizeBytes). */
  constructor(arena: MappedFileRegionArena, blockSizeBytes: number, hooks: BlockAllocatorHooks) {
    requireNonNegativeInteger(blockSizeBytes, "blockSizeBytes");
    if (blockSizeBytes === 0 || blockSizeBytes % alignmentBytes !== 0 || blockSizeBytes > maxBlockSizeBytes) {
      throw new RangeError(
        `blockSizeBytes must be a positive multiple of ${alignmentBytes} up to ${maxBlockSizeBytes}, got ${blockSizeBytes}`,
      );
    }
    if (blockSizeBytes > arena.capacity) {
      throw new RangeError(`blockSizeBytes (${blockSizeBytes}) is larger than the arena's capacity ${arena.capacity}`);
    }
    this.arena = arena;
    this.blockSizeBytes = blockSizeBytes;
    this.#hooks = hooks;
  }

  /** Returns the file offset of a new allocation of `size` bytes, aligned to 8. */
  allocateOffset(size: number): number {
    if (this.#closed || this.arena.closed) this.#throwClosed();
    // Anything else than a small integer (a big size, or a wrong argument) goes to
    // the arena, which allocates it directly or throws the arena's own error.
    if (!(size >= 0 && size <= this.blockSizeBytes && Number.isInteger(size))) return this.arena.allocateOffset(size);
    // The speed of this class is these three lines: plain arithmetic, no atomics.
    // size <= 2^30 here, so the bit operations are exact.
    const start = this.#next;
    const end = start + ((size + alignmentBytes - 1) & -alignmentBytes);
    if (end > this.#end) return this.#allocateFromNewBlock(size);
    this.#next = end;
    return start;
  }

  /** Allocates `size` bytes and returns a view of them (length `size`, zero-copy). */
  allocate(size: number): Uint8Array {
    if (this.#closed || this.arena.closed) this.#throwClosed();
    if (!(size <= this.blockSizeBytes)) return this.arena.allocate(size);
    return this.#hooks.mapping.view(this.allocateOffset(size), size);
  }

  /** Allocates room for `bytes`, copies them in, and returns their offset. */
  append(bytes: Uint8Array): number {
    if (this.#closed || this.arena.closed) this.#throwClosed();
    const length = requireBytesLength(bytes, "bytes");
    if (length > this.blockSizeBytes) return this.arena.append(bytes);
    const offset = this.allocateOffset(length);
    this.#hooks.mapping.write(offset, bytes);
    return offset;
  }

  /** A zero-copy view of `length` bytes at file offset `offset`: the arena's bytes(). */
  bytes(offset: number, length: number): Uint8Array {
    if (this.#closed) this.#throwClosed();
    return this.arena.bytes(offset, length);
  }

  /** Bytes left in the current block: allocations up to this size take no atomic. */
  get remainingBytes(): number {
    return this.#end === noBlock ? 0 : this.#end - this.#next;
  }

  /** Tails given back to the arena so far, and tails that could not be. */
  get tails(): { returned: number; lost: number } {
    return { returned: this.#tailsReturned, lost: this.#tailsLost };
  }

  get closed(): boolean {
    return this.#closed || this.arena.closed;
  }

  /**
   * Gives the unused tail of the current block back to the arena, if nothing was
   * allocated after the block. Allocations already made stay valid. Calling it
   * again does nothing; the arena stays open.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#releaseBlock();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** The slow path: the current block (if any) cannot hold `size` more bytes. */
  #allocateFromNewBlock(size: number): number {
    // Give back first: if that works, the bump pointer is our used end again, and
    // the next block continues right after our last allocation.
    this.#releaseBlock();
    // A block that cannot fit is not asked for: the arena's add would pass the
    // capacity and back out (LLVM's protocol), and between the two every other
    // allocator, in any process, is refused as full while there is room. Asked
    // on every small allocation, that window would open each time, not once
    // when the arena fills. (A race can still make the add overflow: then it is
    // the one window LLVM has too.)
    const blockFits = this.arena.size + this.blockSizeBytes <= this.arena.capacity;
    if (!blockFits && arenaVariant.broken !== "block-allocator-asks-past-capacity") return this.arena.allocateOffset(size);
    let start: number;
    try {
      start = this.arena.allocateOffset(this.blockSizeBytes);
    } catch (error) {
      // No room for a whole block, in the capacity or on the disk (the arena could
      // not reserve it); there may still be room for this allocation, which the
      // arena alone would serve.
      const mayFitAlone = error instanceof ArenaError && (error.code === "ERR_ARENA_FULL" || error.syscall === "fallocate");
      if (!mayFitAlone) throw error;
      return this.arena.allocateOffset(size);
    }
    this.#end = start + this.blockSizeBytes;
    this.#next = start + ((size + alignmentBytes - 1) & -alignmentBytes);
    return start;
  }

  #releaseBlock(): void {
    const end = this.#end;
    const next = this.#next;
    this.#end = noBlock;
    this.#next = 0;
    if (end === noBlock || next === end) return;
    if (this.#hooks.returnTail(end, next)) this.#tailsReturned += 1;
    else this.#tailsLost += 1;
  }

  #throwClosed(): never {
    // The arena's own error when the arena closed; otherwise this allocator's.
    if (this.arena.closed) throw closedError(this.arena.path);
    throw new ArenaError("ERR_ARENA_CLOSED", `block allocator is closed (its arena ${this.arena.path} is open)`, {
      path: this.arena.path,
    });
  }
}
