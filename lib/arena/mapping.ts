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
 */
import { bufferOverMemory, maxExternalBufferBytes, syncMapping, unmap } from "../native/native.ts";

const windowStrideBytes = maxExternalBufferBytes / 2;

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
  readonly #windows: (ArrayBuffer | undefined)[] = [];
  /** The same for each window, made with it. */
  readonly #windowBytes: (Uint8Array | undefined)[] = [];
  /** Every buffer made over the mapping: all are detached before it is unmapped. */
  readonly #buffers: ArrayBuffer[] = [];
  #unmapped = false;

  constructor(address: number, lengthBytes: number, path: string) {
    this.address = address;
    this.lengthBytes = lengthBytes;
    this.path = path;
    this.#fitsOneBuffer = lengthBytes <= maxExternalBufferBytes;
    this.maxViewBytes = this.#fitsOneBuffer ? lengthBytes : windowStrideBytes;
  }

  /**
   * A Uint8Array over [offset, offset + length). The caller has checked that the
   * range is inside the mapping and at most maxViewBytes long.
   */
  view(offset: number, length: number): Uint8Array {
    const whole = this.#whole;
    if (whole !== null) return new Uint8Array(whole, offset, length);
    if (this.#fitsOneBuffer) return new Uint8Array(this.#openWhole(), offset, length);
    const index = this.#windowIndex(offset);
    const window = this.#windows[index] ?? this.#openWindow(index);
    return new Uint8Array(window, offset - index * windowStrideBytes, length);
  }

  /**
   * Copies `bytes` to `offset`, with the same preconditions as view(). This is
   * append's hot path: Uint8Array.set into a long-lived view costs ~15 ns for 64
   * bytes, while making a view first costs ~40-100 ns more and leaves garbage.
   */
  write(offset: number, bytes: Uint8Array): void {
    const whole = this.#wholeBytes;
    if (whole !== null) {
      whole.set(bytes, offset);
      return;
    }
    if (this.#fitsOneBuffer) {
      this.#openWhole();
      this.#wholeBytes!.set(bytes, offset);
      return;
    }
    const index = this.#windowIndex(offset);
    if (this.#windows[index] === undefined) this.#openWindow(index);
    this.#windowBytes[index]!.set(bytes, offset - index * windowStrideBytes);
  }

  /** A buffer of its own over a small fixed range (the header), detached with the rest. */
  dedicatedBuffer(offset: number, length: number): ArrayBuffer {
    return this.#bufferOver(offset, length);
  }

  #bufferOver(offset: number, length: number): ArrayBuffer {
    const buffer = bufferOverMemory(this.address, offset, length);
    this.#buffers.push(buffer);
    return buffer;
  }

  #openWhole(): ArrayBuffer {
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
    const window = this.#bufferOver(start, length);
    this.#windows[index] = window;
    this.#windowBytes[index] = new Uint8Array(window);
    return window;
  }

  sync(): void {
    syncMapping(this.address, this.lengthBytes, this.path);
  }

  /** Detaches every buffer over the mapping, then unmaps it. Idempotent. */
  unmap(): void {
    if (this.#unmapped) return;
    this.#unmapped = true;
    for (const buffer of this.#buffers) {
      // A buffer already detached was transferred away by a caller (its memory now
      // belongs to the new buffer, which we cannot reach; see README, Limits). It
      // must not stop the others from being detached, nor the unmap.
      if (!buffer.detached) buffer.transfer(0);
    }
    unmap(this.address, this.lengthBytes, this.path);
  }
}
