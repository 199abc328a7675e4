/**
 * THE BROKEN VARIANT the crash tests must catch: the README's old recipe for a log
 * on the bare arena. Each record is one arena allocation, [u32 length + 1][u32 0]
 * [payload padded to 8], and the length word is stored last, as the commit. A
 * writer killed between the allocation and that store leaves a zero length word
 * that no reader can skip (where does the next record start?) nor tell from a
 * record still being written, so every follower waits there forever.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";

const headerBytes = 8;
const firstRecord = 32; // right after the arena header at offset 0

export class LengthLastLog {
  readonly arena: MappedFileRegionArena;

  constructor(path: string, capacity: number) {
    this.arena = MappedFileRegionArena.create(path, { capacity });
  }

  /** Allocates and writes a record but does not commit it; returns its offset. */
  begin(bytes: Uint8Array): number {
    const offset = this.arena.allocateOffset(headerBytes + bytes.length);
    this.arena.bytes(offset + headerBytes, bytes.length).set(bytes);
    return offset;
  }

  commit(offset: number, length: number): void {
    const word = this.arena.bytes(offset, 4);
    Atomics.store(new Int32Array(word.buffer, word.byteOffset, 1), 0, length + 1);
  }

  append(bytes: Uint8Array): number {
    const offset = this.begin(bytes);
    this.commit(offset, bytes.length);
    return offset;
  }

  async *follow(signal: AbortSignal): AsyncGenerator<{ bytes: Uint8Array }> {
    let offset = firstRecord;
    while (!signal.aborted) {
      if (offset + headerBytes <= this.arena.size) {
        const word = this.arena.bytes(offset, 4);
        const committed = Atomics.load(new Int32Array(word.buffer, word.byteOffset, 1), 0);
        if (committed !== 0) {
          const length = committed - 1;
          yield { bytes: this.arena.bytes(offset + headerBytes, length) };
          offset += headerBytes + Math.ceil(length / 8) * 8;
          continue;
        }
      }
      await Bun.sleep(1); // not yet committed (or never will be: it cannot know)
    }
  }

  close(): void {
    this.arena.close();
  }
}
