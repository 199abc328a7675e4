/**
 * Several processes race to create one arena: onCreate runs exactly once, and
 * every process sees the arena it initialized.
 *
 * Broken variant caught: deciding "new file" under the shared lock instead of
 * the exclusive one (or skipping the second look at the size after switching
 * locks) lets two openers both see an empty file and both run onCreate. Observed
 * with protocol.ts patched that way: "created" twice in 2 of the 3 rounds.
 */
import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { spawnChild } from "../support/processes.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory();
const racers = 6;

describe("racing to create", () => {
  for (let round = 1; round <= 3; round++) {
    test(`round ${round}: ${racers} processes, onCreate runs once`, async () => {
      const path = freshPath(directory);
      const startAt = Date.now() + 400; // after every process has loaded
      const outputs = await Promise.all(
        Array.from({ length: racers }, async () => {
          const child = spawnChild("race-to-create.ts", [path, startAt]);
          const [stdout, stderr, exitCode] = await Promise.all([
            new Response(child.stdout).text(),
            new Response(child.stderr).text(),
            child.exited,
          ]);
          if (exitCode !== 0) throw new Error(`racer failed: ${stderr}`);
          return stdout;
        }),
      );
      const results = outputs.map((output) => ({ kind: output.split(" ")[0], createMs: Number(output.split(" ")[1]) }));
      expect(results.filter((result) => result.kind === "created")).toHaveLength(1);
      const openers = results.filter((result) => result.kind === "opened");
      expect(openers).toHaveLength(racers - 1);
      // Proof that this was a race, not a queue of processes that never met: some
      // opener waited on the creator's exclusive lock (held 50 ms in onCreate).
      expect(Math.max(...openers.map((opener) => opener.createMs))).toBeGreaterThan(10);
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
