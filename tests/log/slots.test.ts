// Telling "not yet written" from "never will be" (lib/log/writer-slots.ts), case by
// case, without timing: a live writer in the middle of a claim, the same writer
// gone, and a dead writer's slot taken over by a live one (the generation check).
import { describe, expect, test } from "bun:test";
import { MappedFileRegionArena, RecordLog } from "../../lib/index.ts";
import { closeFile, openFile } from "../../lib/native/native.ts";
import { arenaHeaderOffset, slotClaimingWord } from "../../lib/log/format.ts";
import { releaseSlot, takeSlot } from "../../lib/log/writer-slots.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";
import { killed, spawnLogChild } from "./support/children.ts";
import { logCapacity, testBlockSize } from "./support/log-kinds.ts";

const directory = tempDirectory("log-slots-");

describe("a block claimed and not stamped", () => {
  test("is 'being claimed' while a live writer holds its claiming flag, a hole once nobody is claiming", () => {
    const path = freshPath(directory, "log");
    using log = RecordLog.open(path, { capacity: logCapacity, blockSize: testBlockSize });
    log.append(new Uint8Array(16));
    // A second writer, by hand, stopped between its atomic add and its stamp.
    const arena = MappedFileRegionArena.create(path, { capacity: logCapacity, headerOffset: arenaHeaderOffset });
    const header = arena.bytes(0, arenaHeaderOffset);
    const slotWords = new Int32Array(header.buffer, header.byteOffset, arenaHeaderOffset / 4);
    const fd = openFile(path, { create: false });
    const held = takeSlot(fd, path, slotWords);
    Atomics.store(slotWords, slotClaimingWord(held.slot), 1);
    arena.allocateOffset(testBlockSize);
    try {
      const slow = log.stats();
      expect(slow.claiming.count).toBe(1);
      expect(slow.holes.count).toBe(0);
      // Alive but no longer claiming, and still no stamp: it gave the block up.
      Atomics.store(slotWords, slotClaimingWord(held.slot), 0);
      expect(log.stats().holes.count).toBe(1);
      // Claiming again (for another block) makes every unstamped block wait again: conservative.
      Atomics.store(slotWords, slotClaimingWord(held.slot), 1);
      expect(log.stats().claiming.count).toBe(1);
      // The claimer's lock released with its flag still set (as its death does): a hole.
      releaseSlot(fd, path, held);
      expect(log.stats().holes.count).toBe(1);
      expect(log.stats().claiming.count).toBe(0);
    } finally {
      closeFile(fd, path);
      arena.close();
    }
  });
});

describe("a dead writer's slot taken over by a live writer", () => {
  test("the dead writer's unsealed block stays abandoned: its generation is not the slot's", async () => {
    const path = freshPath(directory, "log");
    RecordLog.open(path, { capacity: logCapacity, blockSize: testBlockSize }).close();
    await killed(spawnLogChild("dead-writer.ts", [path, 1, "committed"])); // slot 0, 3 records, unsealed
    using successor = RecordLog.open(path, { capacity: logCapacity });
    successor.append(new Uint8Array(16)); // takes slot 0 again, with the next generation
    const stats = successor.stats();
    expect(stats.abandoned.count).toBe(1);
    expect(stats.open.count).toBe(1); // the successor's own block only
    expect(stats.committed.count).toBe(4);
  }, 30_000);
});
