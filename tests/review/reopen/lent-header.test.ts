/**
 * Review of the fast reopen (issue 8): the header words of a live arena of this
 * thread are lent, by the file's identity alone, to another instance's close
 * (arena.ts #sizeWithoutTouching, live-files.ts). A file can hold valid headers
 * at two offsets (the bytes before headerOffset are the caller's, and may hold
 * an arena header of their own); an instance opened at one offset must report
 * its own header's size, not the bump pointer of an instance opened at another.
 * No crash is possible here (both files stay mapped), so it runs in-process.
 */
import { expect, test } from "bun:test";
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { tempDirectory } from "../../support/temp.ts";

const directory = tempDirectory("mfa-review-lent-header-");
const capacity = 1 << 20;

/** A second valid header, for offset 0, in the 64 bytes the caller owns before the arena's header at 64. */
function writeHeaderForOffsetZero(path: string): void {
  const words = new DataView(new ArrayBuffer(32));
  words.setBigUint64(0, 32n, true); // bumpPtr: nothing allocated
  words.setBigUint64(16, BigInt(capacity), true);
  const fd = openSync(path, "r+");
  writeSync(fd, new Uint8Array(words.buffer), 0, 32, 0);
  closeSync(fd);
}

test("review/reopen: an instance's size at close is read from its own header, not lent from an arena of this thread opened at another headerOffset", () => {
  const path = join(directory, "two-headers.arena");
  const at64 = MappedFileRegionArena.create(path, { capacity, headerOffset: 64 });
  try {
    writeHeaderForOffsetZero(path);
    at64.allocate(4096);
    const alone = MappedFileRegionArena.create(path, { capacity, headerOffset: 0 });
    const ownSize = alone.size; // read through its own header
    alone.close();
    const untouched = MappedFileRegionArena.create(path, { capacity, headerOffset: 0 });
    untouched.close(); // never touched its header: size from the lent one
    expect(ownSize).toBe(32);
    expect(untouched.size).toBe(ownSize);
  } finally {
    at64.close();
  }
});
