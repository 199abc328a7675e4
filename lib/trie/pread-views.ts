/**
 * ByteViews read from a file descriptor with pread, where the judges ask: the
 * pre-open check of an existing database file (database-file.ts).
 *
 * The effect we want: a writer's open of a file it will refuse changes nothing
 * on disk, so everything the judges read is judged before the arena maps (and
 * so touches) the file, wherever it lies. A fixed prefix does not do it: a root
 * table offset past the prefix could only be judged after opening. The judges
 * read a dozen words and one name at offsets they have checked against the bump
 * pointer, so each read is its own pread (a few microseconds each), and nothing
 * larger than the name (at most 65535 bytes) is ever held.
 */
import { readSync } from "node:fs";
import { corruptAt } from "./corruption.ts";
import type { ByteViews } from "./database-file.ts";

export class PreadViews implements ByteViews {
  readonly bytes: ByteViews["bytes"];
  readonly view: ByteViews["view"];

  /** `fileSize` bounds every read; a read that comes back short (the file was cut meanwhile) is ERR_ARENA_CORRUPT. */
  constructor(fd: number, path: string, fileSize: number) {
    const read = (at: number, length: number): Uint8Array => {
      const bytes = new Uint8Array(length);
      if (at < 0 || at + length > fileSize || readSync(fd, bytes, 0, length, at) !== length) {
        throw corruptAt(path, at, `the file ends before ${length} bytes there (at ${fileSize})`);
      }
      return bytes;
    };
    const word = (at: number, length: number) => new DataView(read(at, length).buffer);
    this.bytes = { subarray: (start, end) => read(start, Math.max(0, end - start)) };
    this.view = {
      getUint8: (at) => word(at, 1).getUint8(0),
      getUint16: (at, little) => word(at, 2).getUint16(0, little),
      getUint32: (at, little) => word(at, 4).getUint32(0, little),
      getInt32: (at, little) => word(at, 4).getInt32(0, little),
      getBigInt64: (at, little) => word(at, 8).getBigInt64(0, little),
      getBigUint64: (at, little) => word(at, 8).getBigUint64(0, little),
    };
  }
}
