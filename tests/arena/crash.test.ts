/**
 * Processes killed with SIGKILL in the middle of allocating and writing: the arena
 * reopens, every record they had finished is intact and present exactly once, an
 * allocation whose writer died before writing reads as zeros (never another's
 * data), and their locks died with them: the next last close still shrinks.
 *
 * Broken variants caught: a non-atomic bump in the writers (observed with
 * allocateOffset patched to read-then-write: "child 0 finished record 34, but it
 * is missing"), and any lock that outlived its process (the exclusive probe of
 * PATH.shared and the final shrink both fail).
 */
import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { openFile, closeFile, tryLockFile } from "../../lib/native/native.ts";
import { barrier, progressWords, testHeaderOffset } from "../support/barrier.ts";
import { readSlot, recordSizeBytes } from "../support/records.ts";
import { spawnChild } from "../support/processes.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory();
const children = 3;
const capacity = 256 * 1024 * 1024;

describe("a process killed mid-allocation", () => {
  test(`${children} writers SIGKILLed: finished records intact, locks gone, file shrinks`, async () => {
    const path = freshPath(directory);
    const parent = MappedFileRegionArena.create(path, { capacity, headerOffset: testHeaderOffset });
    const writers = Array.from({ length: children }, (_, child) => spawnChild("stamp-until-killed.ts", [path, child, children]));
    await barrier(parent).releaseWhenArrived(children);
    const progress = progressWords(parent, children);
    // Let each one get well into its work, then kill them all without warning.
    const deadline = Date.now() + 30_000;
    while ([...progress].some((done) => done < 2000n) && Date.now() < deadline) await Bun.sleep(2);
    for (const writer of writers) writer.kill("SIGKILL");
    const exits = await Promise.all(writers.map((writer) => writer.exited));
    expect(writers.map((writer) => writer.signalCode)).toEqual(Array(children).fill("SIGKILL"));
    expect(exits.every((code) => code !== 0)).toBe(true);
    const finished = [...progress].map(Number);
    expect(finished.every((count) => count >= 2000)).toBe(true);
    parent.close(); // parent was the last opener: this close shrinks

    // Every writer's shared lock on PATH.shared died with it.
    const sharedFd = openFile(`${path}.shared`, { create: false });
    expect(tryLockFile(sharedFd, "exclusive", path)).toBe(true);
    closeFile(sharedFd, path);

    const arena = MappedFileRegionArena.create(path, { capacity, headerOffset: testHeaderOffset });
    const firstRecord = testHeaderOffset + 32;
    expect((arena.size - firstRecord) % recordSizeBytes).toBe(0);
    const seen = Array.from({ length: children }, () => new Set<number>());
    let empty = 0;
    let torn = 0;
    for (let offset = firstRecord; offset < arena.size; offset += recordSizeBytes) {
      const slot = readSlot(arena.bytes(offset, recordSizeBytes));
      if (slot.kind === "empty") empty++;
      else if (slot.kind === "torn") torn++;
      else {
        expect(slot.child).toBeLessThan(children);
        expect(seen[slot.child]!.has(slot.sequence)).toBe(false); // exactly once
        seen[slot.child]!.add(slot.sequence);
      }
    }
    for (let child = 0; child < children; child++) {
      for (let sequence = 0; sequence < finished[child]!; sequence++) {
        if (!seen[child]!.has(sequence)) throw new Error(`child ${child} finished record ${sequence}, but it is missing`);
      }
      // At most the one record in flight at the kill can be unfinished.
      expect(seen[child]!.size).toBeLessThanOrEqual(finished[child]! + 1);
    }
    expect(empty + torn).toBeLessThanOrEqual(children); // one in-flight slot per writer at most
    const size = arena.size;
    arena.close();
    expect(statSync(path).size).toBe(size);
  }, 60_000);
});
