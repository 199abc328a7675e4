/**
 * A first-in first-out queue of 32-byte ids, back to back in one growing buffer:
 * what put() adds to when a remote is configured. An object per entry (or the
 * id's hex string, kept alive until its upload) would make every put allocate
 * and leave the collector tens of thousands of live objects to trace while a
 * burst of puts waits for the network; 32 bytes copied into a buffer do neither.
 */
import { idBytes, idToHex } from "../hashing.ts";

const initialIds = 256;

export class IdQueue {
  #bytes = new Uint8Array(initialIds * idBytes);
  /** Byte offsets of the next id to take and of the end of the last one added. */
  #head = 0;
  #tail = 0;

  get length(): number {
    return (this.#tail - this.#head) / idBytes;
  }

  /** Adds the 32 bytes of `id`. */
  push(id: Uint8Array): void {
    if (this.#tail + idBytes > this.#bytes.length) this.#makeRoom();
    this.#bytes.set(id.subarray(0, idBytes), this.#tail);
    this.#tail += idBytes;
  }

  /** Takes the oldest id, as lowercase hex; undefined when empty. */
  shift(): string | undefined {
    if (this.#head === this.#tail) return undefined;
    const hex = idToHex(this.#bytes, this.#head);
    this.#head += idBytes;
    if (this.#head === this.#tail) this.#head = this.#tail = 0;
    return hex;
  }

  clear(): void {
    this.#bytes = new Uint8Array(initialIds * idBytes);
    this.#head = this.#tail = 0;
  }

  /** Moves the waiting ids to the front, into a buffer twice as large when they fill half of it. */
  #makeRoom(): void {
    const used = this.#tail - this.#head;
    if (used * 2 > this.#bytes.length) {
      const bytes = new Uint8Array(this.#bytes.length * 2);
      bytes.set(this.#bytes.subarray(this.#head, this.#tail));
      this.#bytes = bytes;
    } else {
      this.#bytes.copyWithin(0, this.#head, this.#tail);
    }
    this.#head = 0;
    this.#tail = used;
  }
}
