/**
 * Several processes race to create one arena: onCreate runs exactly once, and
 * every process sees the arena it initialized. The racers start on a barrier and
 * the creator's onCreate waits until every racer has called create(), so each
 * round is a real race on any machine (see race-to-create.ts).
 *
 * Broken variant caught: deciding "new file" under the shared lock instead of
 * the exclusive one (or skipping the second look at the size after switching
 * locks) lets two openers both see an empty file and both run onCreate. Observed
 * with protocol.ts patched that way: "created" twice in 2 of the 3 rounds.
 */
import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { barrier, testHeaderOffset } from "../support/barrier.ts";
import { spawnChild } from "../support/processes.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory();
const racers = 6;

describe("racing to create", () => {
  for (let round = 1; round <= 3; round++) {
    test(`round ${round}: ${racers} processes, onCreate runs once`, async () => {
      const path = freshPath(directory);
      using start = MappedFileRegionArena.create(freshPath(directory, "start"), { capacity: 4096, headerOffset: testHeaderOffset });
      const [, ...outputs] = await Promise.all([
        barrier(start).releaseWhenArrived(racers),
        ...Array.from({ length: racers }, async () => {
          const child = spawnChild("race-to-create.ts", [path, start.path, racers]);
          const [stdout, stderr, exitCode] = await Promise.all([
            new Response(child.stdout).text(),
            new Response(child.stderr).text(),
            child.exited,
          ]);
          if (exitCode !== 0) throw new Error(`racer failed: ${stderr}`);
          return stdout;
        }),
      ]);
      const results = outputs.map((output) => ({ kind: output.split(" ")[0], createMs: Number(output.split(" ")[1]) }));
      expect(results.filter((result) => result.kind === "created")).toHaveLength(1);
      const openers = results.filter((result) => result.kind === "opened");
      expect(openers).toHaveLength(racers - 1);
      // Proof that this was a race, not a queue of processes that never met: every
      // opener was inside create() while the creator held the exclusive lock, and
      // waited for it (50 ms at least, once all had called create()).
      expect(Math.min(...openers.map((opener) => opener.createMs))).toBeGreaterThan(45);
      // The stored capacity (1 MiB) wins over the 64 bytes asked for here.
      using arena = MappedFileRegionArena.create(path, { capacity: 64, headerOffset: 8 });
      // The racers' 8-byte appends follow the creator's record directly when its
      // length is a multiple of 8, so the record ends where the digits end.
      const creatorRecord = new TextDecoder().decode(arena.bytes(40, 32)).match(/^created by \d+/)?.[0] ?? "";
      expect(creatorRecord).toMatch(/^created by \d+$/);
      // One onCreate record, then one 8-byte append per racer: nothing else.
      expect(arena.size).toBe(40 + Math.ceil(creatorRecord.length / 8) * 8 + racers * 8);
      expect(statSync(path).size).toBe(1024 * 1024);
    });
  }
});
