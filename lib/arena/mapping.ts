/**
 * One shared, read-write mapping of the whole arena, and the JavaScript views of it.
 *
 * A view is only safe while the memory under it stays mapped: touching an unmapped
 * page kills the process. So every ArrayBuffer made over the mapping is created
 * here, remembered here, and detached here (ArrayBuffer.prototype.transfer(0))
 * before the memory is unmapped. A detached buffer reads as length 0 through every
 * typed array over it, so a view kept past close() is harmless.
 *
 * Which buffer a view is cut from. A view's buffer is reachable by whoever holds
 * the view (view.buffer), and standard APIs that copy a view copy its whole
 * buffer: structuredClone(view) and postMessage(view) serialize view.buffer
 * entire. One buffer over the whole mapping (what views used to share) made a
 * clone of 5 bytes copy the capacity (1 GiB: 6 s, 3 GiB of memory), and for a
 * read-only opener, whose file ends long before its capacity-sized mapping,
 * kill the process with SIGBUS at the first page past the file's end. A buffer
 * per view is exact, but costs ~0.5-1 us (toArrayBuffer) against ~50 ns, and a
 * record of every view to detach at close. The way chosen: views are cut from
 * long-lived windows of bounded size. Level 0's windows are 512 KiB, one every
 * 256 KiB (overlapping by half), so any view of up to 256 KiB lies wholly in the
 * window that starts at or before it; a longer view of length L uses the
 * smallest level whose stride (256 KiB * 2^level) is at least L. So a clone of a
 * view copies at most 512 KiB, or 4 L for a view longer than 256 KiB, never the
 * capacity. No window reaches past `viewableBytes`: the mapping for a writer
 * (its file is the capacity long while open), and for a read-only opener what
 * the file backs (read-only.ts raises it as the file grows; a window made
 * shorter is made again, longer, when a view needs more, and the short one
 * stays valid). Windows are made on first use and kept until close: at most
 * about 2 * viewableBytes / 256 KiB of them (8,192 for a fully read 1 GiB).
 *
 * Writes (append's path) go through one internal buffer over the whole mapping
 * (4 GiB pieces every 2 GiB over 4 GiB), never handed out, so no caller can
 * copy or take it. JavaScriptCore counts an external buffer's length as memory
 * the collector must account for (a 64 MiB buffer costs a collection, ~50-100
 * us), so it is made on the first write, not at open.
 *
 * Stolen buffers. Standard APIs transfer buffers without the caller asking (a
 * byte stream's enqueue(view), a structuredClone or postMessage with a transfer
 * list, buffer.transfer()): the window moves into a new buffer out of our reach,
 * and ours is left detached. A view that meets a detached window makes a fresh
 * one over the same memory (so the arena keeps working).
 *
 * Close. Neither a taken buffer nor a pointer a native thread already holds (an
 * asynchronous node:zlib call reads the view on a worker thread) can be
 * detached, so close() never leaves the addresses unmapped: it replaces the
 * whole mapping, in place and in one call, with private zero pages (a
 * placeholder), and a late reader reads zeros instead of killing the process.
 * The addresses go to a pool (placeholder-pool.ts) and are reused for a later
 * mapping of the same length, so closes do not leak them: except the range of
 * a mapping one of whose buffers was transferred away. That buffer is the
 * caller's for as long as it lives, and a later mapping over its addresses
 * would show it another arena's bytes and let a write through it change that
 * arena's file. So that range stays reserved as zero pages for good (what
 * Windows, which has no placeholders, does too): a leak of address space, not
 * memory, bounded by how many mappings had a buffer taken.
 *
 * separateBuffer's buffers (one per call, for layers that hand callers buffers
 * of their own) are held weakly, so a caller's dropped buffer is collected and
 * registering one is O(1). What that gives up: a collected one may have been
 * transferred away before it was dropped, which can no longer be seen, so a
 * mapping one of whose separate buffers was collected before close counts as
 * taken from, and its range is not reused (the layers keep theirs until close).
 */
import { bufferOverMemory, maxExternalBufferBytes, replaceWithPlaceholder, syncMapping, unmap } from "../native/native.ts";
import { keepPlaceholder } from "./placeholder-pool.ts";
import { canReplaceMappedRanges } from "./platform.ts";
import { arenaVariant } from "./broken-variants.ts";

/** The stride of the smallest view windows; a window is twice its stride (see the comment at the top). */
export const viewWindowStrideBytes = 256 * 1024;
/** The internal write buffers of a mapping over 4 GiB: 4 GiB, every 2 GiB. */
const writeStrideBytes = maxExternalBufferBytes / 2;
const noWriteWindows = Object.freeze([]) as unknown as (Uint8Array | undefined)[];

/** Separate buffers, held weakly: one collected before close is reported to its mapping. */
const separateBuffers = new FinalizationRegistry<{ mapping: Mapping; ref: WeakRef<ArrayBuffer> }>(({ mapping, ref }) => mapping.forgetCollected(ref));

export class Mapping {
  readonly address: number;
  readonly lengthBytes: number;
  readonly path: string;
  /** The longest single view this mapping can hand out. */
  readonly maxViewBytes: number;
  /**
   * How far views' buffers may reach: the whole mapping for a writer, what the
   * file backs for a read-only opener (read-only.ts raises it as the file grows).
   */
  viewableBytes: number;
  /** View windows by level (stride viewWindowStrideBytes * 2^level), then by index. Level 0 is the hot path's. */
  readonly #levels: (Map<number, ArrayBuffer> | undefined)[] = [];
  /** Level 0's windows (also #levels[0]), made with the first view. */
  #small: Map<number, ArrayBuffer> | null = null;
  /** Write buffers: the whole mapping when it fits in one buffer (never handed out, so never taken). */
  #wholeBytes: Uint8Array | null = null;
  /** Mappings over 4 GiB: write buffers of 4 GiB every 2 GiB. */
  #writeWindows: (Uint8Array | undefined)[] = noWriteWindows;
  /** Buffers of ours to detach at close besides the current windows: header buffers, windows outgrown by a reader. */
  readonly #kept: ArrayBuffer[] = [];
  /** separateBuffer's buffers, held weakly (a dropped one may be collected). */
  readonly #separate = new Set<WeakRef<ArrayBuffer>>();
  #unmapped = false;
  /** Whether a buffer over the mapping may have been transferred away: its addresses must then never map another file. */
  #stolen = false;
  /** Whether a buffer that callers can reach was made (not only internal ones, which stay ours). */
  #viewed = false;

  constructor(address: number, lengthBytes: number, path: string) {
    this.address = address;
    this.lengthBytes = lengthBytes;
    this.path = path;
    this.viewableBytes = lengthBytes;
    this.maxViewBytes = lengthBytes <= maxExternalBufferBytes ? lengthBytes : writeStrideBytes;
  }

  /**
   * A Uint8Array over [offset, offset + length). The caller has checked that the
   * range is inside viewableBytes and at most maxViewBytes long. Hot path: a
   * view of up to 256 KiB is cut from the level-0 window that starts at or
   * before it (one Map look-up and a typed array).
   */
  view(offset: number, length: number): Uint8Array {
    const small = this.#small;
    if (small !== null && length <= viewWindowStrideBytes) {
      const index = Math.floor(offset / viewWindowStrideBytes);
      const window = small.get(index);
      if (window !== undefined) {
        try {
          return new Uint8Array(window, offset - index * viewWindowStrideBytes, length);
        } catch {
          // Taken away, or a reader's window shorter than the file has grown since: made again below.
        }
      }
    }
    return this.#viewSlow(offset, length);
  }

  #viewSlow(offset: number, length: number): Uint8Array {
    let level = 0;
    let stride = viewWindowStrideBytes;
    while (stride < length) {
      stride *= 2;
      level += 1;
    }
    // An empty view at the very end, where a window of this stride would start empty: the one before.
    const viewable = arenaVariant.broken === "views-past-the-file" ? this.lengthBytes : this.viewableBytes;
    let index = Math.floor(offset / stride);
    if (index > 0 && index * stride >= viewable) index -= 1;
    const start = index * stride;
    const windows = (this.#levels[level] ??= new Map());
    if (level === 0) this.#small = windows;
    let window = windows.get(index);
    if (window === undefined || window.detached || start + window.byteLength < offset + length) {
      if (window !== undefined) this.#retire(window);
      const windowBytes = Math.min(2 * stride, viewable - start, maxExternalBufferBytes);
      this.#viewed = true;
      window = bufferOverMemory(this.address, start, windowBytes);
      windows.set(index, window);
    }
    return new Uint8Array(window, offset - start, length);
  }

  /** A window replaced by a new one: taken away (noted), or outgrown (kept, to detach at close). */
  #retire(window: ArrayBuffer): void {
    if (window.detached) this.#stolen = true;
    else this.#kept.push(window);
  }

  /**
   * Copies `bytes` to `offset`, with the same preconditions as view(). This is
   * append's hot path: Uint8Array.set into a long-lived internal view costs ~15
   * ns for 64 bytes, while making a view first costs ~40-100 ns more and leaves
   * garbage. The internal buffer is never handed out, so nobody can take it.
   */
  write(offset: number, bytes: Uint8Array): void {
    const whole = this.#wholeBytes;
    if (whole !== null) whole.set(bytes, offset);
    else this.#writeSlow(offset, bytes);
  }

  #writeSlow(offset: number, bytes: Uint8Array): void {
    // A mapping written through counts as viewed, as when append wrote through the
    // whole-mapping view: close parks its range as a placeholder in the pool, to
    // be reused, rather than unmapping it. (Under qemu-user, test:arm64, unmapped
    // ranges are not given back: a writer that appended grew the process by its
    // mapping at every close there.)
    this.#viewed = true;
    if (this.lengthBytes <= maxExternalBufferBytes) {
      this.#wholeBytes = new Uint8Array(this.dedicatedBuffer(0, this.lengthBytes));
      this.#wholeBytes.set(bytes, offset);
      return;
    }
    const index = Math.min(Math.floor(offset / writeStrideBytes), Math.floor((this.lengthBytes - 1) / writeStrideBytes));
    if (this.#writeWindows === noWriteWindows) this.#writeWindows = [];
    const start = index * writeStrideBytes;
    const window = (this.#writeWindows[index] ??= new Uint8Array(this.dedicatedBuffer(start, Math.min(maxExternalBufferBytes, this.lengthBytes - start))));
    window.set(bytes, offset - start);
  }

  /**
   * A buffer of its own over [offset, offset + length), for views handed to
   * callers who may transfer their buffer away (a byte stream's enqueue does):
   * taking it leaves the buffers the arena and its tables read through in place.
   * Held weakly (O(1)): one the caller drops can be collected; the live ones are
   * detached at close. Same preconditions as view(); length 0 is an empty buffer.
   */
  separateBuffer(offset: number, length: number): ArrayBuffer {
    if (length === 0) return new ArrayBuffer(0);
    this.#viewed = true;
    const buffer = bufferOverMemory(this.address, offset, length);
    const ref = new WeakRef(buffer);
    this.#separate.add(ref);
    separateBuffers.register(buffer, { mapping: this, ref }, ref);
    return buffer;
  }

  /**
   * A separate buffer was collected. Whether it had been transferred away first
   * (its contents then live on in its taker's buffer) cannot be known any more,
   * so the mapping counts as taken: its range is not reused (see unmap).
   */
  forgetCollected(ref: WeakRef<ArrayBuffer>): void {
    if (this.#separate.delete(ref)) this.#stolen = true;
  }

  /** A buffer of our own over a fixed range (the header, the write buffers), never handed out; detached at close. */
  dedicatedBuffer(offset: number, length: number): ArrayBuffer {
    const buffer = bufferOverMemory(this.address, offset, length);
    this.#kept.push(buffer);
    return buffer;
  }

  sync(): void {
    syncMapping(this.address, this.lengthBytes, this.path);
  }

  /** Detaches `buffer`, or notes that it was taken away. */
  #detach(buffer: ArrayBuffer): void {
    if (buffer.detached) this.#stolen = true;
    else buffer.transfer(0);
  }

  /**
   * Detaches every buffer over the mapping, then replaces the whole mapping with
   * a placeholder of zero pages, which goes to the pool: from here on nothing of
   * ours maps the file, and nothing that still points here can fault.
   * Read-write zero pages, so a late writer (a pending stream read into a view)
   * writes into nothing; under strict overcommit (vm.overcommit_memory=2, which
   * would charge them) read-only ones, which are free. If neither can be placed
   * this throws, and the file may still be mapped here: the caller must then
   * keep the file from shrinking (closeArena keeps its in-use locks). A mapping
   * that no view was ever made of (an open and close that only allocated offsets)
   * is simply unmapped: no pointer into it can exist, and a placeholder and its
   * reuse cost two more address-space changes per open and close. Windows has
   * no placeholders (platform.ts): there a mapping with a stolen window stays
   * mapped, and any other is unmapped. Idempotent.
   */
  unmap(): void {
    if (this.#unmapped) return;
    for (const windows of this.#levels) if (windows !== undefined) for (const window of windows.values()) this.#detach(window);
    for (const buffer of this.#kept) this.#detach(buffer);
    for (const ref of this.#separate) {
      const buffer = ref.deref();
      separateBuffers.unregister(ref);
      if (buffer !== undefined) this.#detach(buffer);
    }
    const stolen = this.#stolen;
    this.#levels.length = 0;
    this.#small = null;
    this.#kept.length = 0;
    this.#separate.clear();
    this.#wholeBytes = null;
    this.#writeWindows = noWriteWindows;
    if (!this.#viewed || (!canReplaceMappedRanges && !stolen) || arenaVariant.broken === "no-placeholder-at-close") {
      unmap(this.address, this.lengthBytes, this.path);
      this.#unmapped = true;
      return;
    }
    if (!canReplaceMappedRanges) {
      this.#unmapped = true; // Windows: a stolen window's view stays mapped (platform.ts)
      return;
    }
    try {
      replaceWithPlaceholder(this.address, this.lengthBytes, this.path, true);
    } catch {
      replaceWithPlaceholder(this.address, this.lengthBytes, this.path, false);
    }
    this.#unmapped = true;
    // A range under a taken buffer is never reused: a later mapping there would show that buffer another file's bytes.
    if (!stolen || arenaVariant.broken === "reuse-stolen-ranges") keepPlaceholder(this.address, this.lengthBytes);
  }
}
