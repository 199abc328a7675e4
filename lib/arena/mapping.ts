/**
 * One shared, read-write mapping of the whole arena, and the JavaScript views of it.
 *
 * A view is only safe while the memory under it stays mapped: touching an unmapped
 * page kills the process. So every ArrayBuffer made over the mapping is created
 * here, remembered here, and detached here (ArrayBuffer.prototype.transfer(0))
 * before the memory is unmapped. A detached buffer reads as length 0 through every
 * typed array over it, so a view kept past close() is harmless. Views handed to
 * callers are typed arrays over these few long-lived buffers, never buffers of
 * their own, which is what keeps the bookkeeping O(windows), not O(calls).
 *
 * Buffers are made on first use, not at open: JavaScriptCore counts an external
 * buffer's length as memory the collector must account for, and a 64 MiB buffer
 * costs a garbage collection (~50-100 us, measured: toArrayBuffer of 64 MiB
 * in a loop spends 80% of its time in futex waits for the collector's threads),
 * against ~1 us for a 32-byte one. An arena opened to allocate offsets, or opened
 * and closed, makes only the header's 32-byte buffer (see dedicatedBuffer); the
 * first view pays for the big one once per open.
 *
 * toArrayBuffer accepts at most 4 GiB. A larger mapping is covered by windows of
 * 4 GiB that start every 2 GiB and overlap by half, so any range of up to 2 GiB
 * lies wholly inside the window that starts at or before it: such a range gets one
 * contiguous view even when it straddles a window's end.
 *
 * Stolen buffers. A view's buffer is one of these windows, and standard APIs
 * transfer buffers without the caller asking (a byte stream's enqueue(view), a
 * structuredClone or postMessage with a transfer list, buffer.transfer()): the
 * window moves into a new buffer out of our reach, and ours is left detached. A
 * buffer per view would stop that, but costs ~0.5-1 us per view (toArrayBuffer)
 * against ~50 ns, and a list of every view to detach at close. Instead, a view
 * or write that meets a detached window makes a fresh one over the same memory
 * (so the arena keeps working).
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
 * A taken buffer is forgotten as soon as it is seen detached (a view made after
 * it makes another): only the fact that one was taken is kept, so a store that
 * streams views through byte streams (each enqueue takes one) does not keep a
 * record and a detached buffer per view until close.
 */
import { bufferOverMemory, maxExternalBufferBytes, replaceWithPlaceholder, syncMapping, unmap } from "../native/native.ts";
import { keepPlaceholder } from "./placeholder-pool.ts";
import { canReplaceMappedRanges } from "./platform.ts";
import { arenaVariant } from "./broken-variants.ts";

const windowStrideBytes = maxExternalBufferBytes / 2;
/** Stand-ins for a mapping's window arrays until it makes a window: never written (frozen, so a write would throw). */
const noWindows = Object.freeze([]) as unknown as (ArrayBuffer | undefined)[];
const noWindowBytes = Object.freeze([]) as unknown as (Uint8Array | undefined)[];

/** A buffer made over [offset, offset + lengthBytes) of the mapping. */
interface TrackedBuffer {
  buffer: ArrayBuffer;
  offset: number;
  lengthBytes: number;
}

export class Mapping {
  readonly address: number;
  readonly lengthBytes: number;
  readonly path: string;
  /** The longest single view this mapping can hand out. */
  readonly maxViewBytes: number;
  readonly #fitsOneBuffer: boolean;
  /** Covers the whole mapping when it fits in one buffer and a view was asked for. */
  #whole: ArrayBuffer | null = null;
  /** A long-lived byte view of #whole, so that write() makes no view per call. */
  #wholeBytes: Uint8Array | null = null;
  /** Mappings larger than one buffer: the windows made so far (the arrays are made with the first). */
  #windows: (ArrayBuffer | undefined)[] = noWindows;
  /** The same for each window, made with it. */
  #windowBytes: (Uint8Array | undefined)[] = noWindowBytes;
  /** Every buffer made over the mapping: all are detached before it is unmapped. Made with the first. */
  #buffers: TrackedBuffer[] | null = null;
  #unmapped = false;
  /** Whether a buffer over the mapping was transferred away: its addresses must then never map another file. */
  #stolen = false;
  /** Whether a buffer that views can reach was made (not only dedicated ones, which stay ours). */
  #viewed = false;

  constructor(address: number, lengthBytes: number, path: string) {
    this.address = address;
    this.lengthBytes = lengthBytes;
    this.path = path;
    this.#fitsOneBuffer = lengthBytes <= maxExternalBufferBytes;
    this.maxViewBytes = this.#fitsOneBuffer ? lengthBytes : windowStrideBytes;
  }

  /**
   * A Uint8Array over [offset, offset + length). The caller has checked that the
   * range is inside the mapping and at most maxViewBytes long, so the only way
   * the constructor can throw is a window that was transferred away.
   */
  view(offset: number, length: number): Uint8Array {
    const whole = this.#whole;
    if (whole !== null) {
      try {
        return new Uint8Array(whole, offset, length);
      } catch (error) {
        this.#replaceIfStolen(whole, error);
      }
    }
    return this.#viewSlow(offset, length);
  }

  /**
   * Copies `bytes` to `offset`, with the same preconditions as view(). This is
   * append's hot path: Uint8Array.set into a long-lived view costs ~15 ns for 64
   * bytes, while making a view first costs ~40-100 ns more and leaves garbage.
   */
  write(offset: number, bytes: Uint8Array): void {
    const whole = this.#wholeBytes;
    if (whole !== null) {
      try {
        whole.set(bytes, offset);
        return;
      } catch (error) {
        this.#replaceIfStolen(this.#whole!, error);
      }
    }
    this.#writeSlow(offset, bytes);
  }

  /**
   * A buffer of its own over [offset, offset + length), for views handed to
   * callers who may transfer their buffer away (a byte stream's enqueue does):
   * taking it leaves the buffers the arena and its tables read through in place.
   * Detached at close with the rest, and the mapping counts as viewed (so
   * close puts a placeholder under it). Same preconditions as view().
   */
  separateBuffer(offset: number, length: number): ArrayBuffer {
    this.#viewed = true;
    return this.#bufferOver(offset, length);
  }

  /** A buffer of its own over a small fixed range (the header), detached with the rest. */
  dedicatedBuffer(offset: number, length: number): ArrayBuffer {
    return this.#bufferOver(offset, length);
  }

  #viewSlow(offset: number, length: number): Uint8Array {
    if (this.#fitsOneBuffer) return new Uint8Array(this.#whole ?? this.#openWhole(), offset, length);
    const index = this.#windowIndex(offset);
    const window = this.#windows[index] ?? this.#openWindow(index);
    const start = offset - index * windowStrideBytes;
    try {
      return new Uint8Array(window, start, length);
    } catch (error) {
      this.#replaceIfStolen(window, error);
      return new Uint8Array(this.#windows[index] ?? this.#openWindow(index), start, length);
    }
  }

  #writeSlow(offset: number, bytes: Uint8Array): void {
    if (this.#fitsOneBuffer) {
      if (this.#whole === null) this.#openWhole();
      this.#wholeBytes!.set(bytes, offset);
      return;
    }
    const index = this.#windowIndex(offset);
    if (this.#windows[index] === undefined) this.#openWindow(index);
    const start = offset - index * windowStrideBytes;
    try {
      this.#windowBytes[index]!.set(bytes, start);
    } catch (error) {
      this.#replaceIfStolen(this.#windows[index]!, error);
      this.#openWindow(index);
      this.#windowBytes[index]!.set(bytes, start);
    }
  }

  /**
   * After a view or write of `buffer` threw: if the buffer was transferred away,
   * forgets it (it stays in #buffers, for close to find), so the next use makes a
   * fresh one over the same memory. Anything else is not ours to hide.
   */
  #replaceIfStolen(buffer: ArrayBuffer, error: unknown): void {
    if (!buffer.detached) throw error;
    if (this.#whole === buffer) {
      this.#whole = null;
      this.#wholeBytes = null;
      return;
    }
    const index = this.#windows.indexOf(buffer);
    if (index !== -1) {
      this.#windows[index] = undefined;
      this.#windowBytes[index] = undefined;
    }
  }

  #bufferOver(offset: number, lengthBytes: number): ArrayBuffer {
    const buffer = bufferOverMemory(this.address, offset, lengthBytes);
    const buffers = (this.#buffers ??= []);
    this.#forgetStolen(buffers);
    buffers.push({ buffer, offset, lengthBytes });
    return buffer;
  }

  /**
   * Drops the buffers that were transferred away (close cannot detach them
   * anyway), remembering that one was. O(live buffers): the few windows and
   * the latest separate buffers, since each new buffer clears out the taken ones.
   */
  #forgetStolen(buffers: TrackedBuffer[]): void {
    let kept = 0;
    for (const tracked of buffers) {
      if (tracked.buffer.detached) this.#stolen = true;
      else buffers[kept++] = tracked;
    }
    buffers.length = kept;
  }

  #openWhole(): ArrayBuffer {
    this.#viewed = true;
    const whole = this.#bufferOver(0, this.lengthBytes);
    this.#whole = whole;
    this.#wholeBytes = new Uint8Array(whole);
    return whole;
  }

  /**
   * The window that starts at or before `offset`; for offset == lengthBytes (an
   * empty view at the very end) the last window, since a window starting there
   * would be empty and toArrayBuffer refuses a length of 0.
   */
  #windowIndex(offset: number): number {
    return Math.min(Math.floor(offset / windowStrideBytes), Math.floor((this.lengthBytes - 1) / windowStrideBytes));
  }

  #openWindow(index: number): ArrayBuffer {
    const start = index * windowStrideBytes;
    const length = Math.min(maxExternalBufferBytes, this.lengthBytes - start);
    this.#viewed = true;
    if (this.#windows === noWindows) {
      this.#windows = [];
      this.#windowBytes = [];
    }
    const window = this.#bufferOver(start, length);
    this.#windows[index] = window;
    this.#windowBytes[index] = new Uint8Array(window);
    return window;
  }

  sync(): void {
    syncMapping(this.address, this.lengthBytes, this.path);
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
    let stolen = this.#stolen;
    const buffers = this.#buffers;
    if (buffers !== null) {
      for (const { buffer } of buffers) {
        if (buffer.detached) stolen = true;
        else buffer.transfer(0);
      }
      this.#buffers = null;
    }
    this.#whole = null;
    this.#wholeBytes = null;
    this.#windows = noWindows;
    this.#windowBytes = noWindowBytes;
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
