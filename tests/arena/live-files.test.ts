/**
 * What this thread's open arenas lend a later open of the same file
 * (lib/arena/live-files.ts), found by the review of the fast reopen (issue 8):
 *  - the header words, to an instance's close that never touched its own: only
 *    to an instance of the same headerOffset (a file may hold valid headers at
 *    two offsets: the bytes before headerOffset are the caller's);
 *  - the paths an open may skip the inode lock by: those of the instances still
 *    open, not every name the file was opened by while a holder stayed.
 * (The disk proof is not lent: tests/arena/safety/reservation-proof.test.ts.)
 * Nothing here can crash (every file stays mapped), so it runs in-process.
 */
import { expect, test } from "bun:test";
import { closeSync, openSync, symlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { liveFileAt } from "../../lib/arena/live-files.ts";
import { tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("mfa-live-files-");
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

test("review of the fast reopen: an instance's size at close is read from its own header, not lent from an arena of this thread opened at another headerOffset", () => {
  const path = join(directory, "two-headers.arena");
  const at64 = MappedFileRegionArena.create(path, { capacity, headerOffset: 64 });
  try {
    writeHeaderForOffsetZero(path);
    at64.allocate(4096);
    const alone = MappedFileRegionArena.create(path, { capacity, headerOffset: 0 });
    const ownSize = alone.size; // read through its own header
    alone.close();
    const untouched = MappedFileRegionArena.create(path, { capacity, headerOffset: 0 });
    untouched.close(); // never touched its header
    expect(ownSize).toBe(32);
    expect(untouched.size).toBe(ownSize);
  } finally {
    at64.close();
  }
});

test("review of the fast reopen: the paths remembered for a live file are those of its open instances, not every name it was opened by while a holder stayed open", () => {
  const path = join(directory, "held.arena");
  const holder = MappedFileRegionArena.create(path, { capacity });
  try {
    const names = 200;
    for (let i = 0; i < names; i++) {
      const name = join(directory, `name-${i}.arena`);
      symlinkSync(path, name);
      MappedFileRegionArena.create(name, { capacity }).close();
    }
    expect(liveFileAt(join(directory, "name-0.arena"))).toBeUndefined();
    expect([...liveFileAt(path)!.paths.keys()]).toEqual([path]);
    const second = MappedFileRegionArena.create(path, { capacity });
    second.close();
    expect(liveFileAt(path)!.paths.get(path)).toBe(1); // the holder's, still open
  } finally {
    holder.close();
  }
  expect(liveFileAt(path)).toBeUndefined();
});
