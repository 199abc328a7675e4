// Several writer processes append to one RecordLog while follower processes read
// it live: every follower reads every record exactly once, whole, and each
// writer's records in order; a scan afterwards finds the same, and stats() agrees.
import { describe, expect, test } from "bun:test";
import { RecordLog } from "../../lib/index.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";
import { OrderChecker } from "./support/payloads.ts";
import { openProgress } from "./support/progress.ts";
import { logCapacity, testBlockSize } from "./support/log-kinds.ts";
import { spawnLogChild, succeeded, WatchedFollower } from "./support/children.ts";

const directory = tempDirectory("log-multiprocess-");
const writers = 4;
const recordsPerWriter = 4000;

describe("RecordLog across processes", () => {
  test(`${writers} writers (single and batched appends) and 2 live followers`, async () => {
    const path = freshPath(directory, "log");
    const progressPath = freshPath(directory, "progress");
    openProgress(progressPath).arena.close();
    RecordLog.open(path, { capacity: logCapacity, blockSize: testBlockSize }).close();

    const followers = [new WatchedFollower("record-log", path), new WatchedFollower("record-log", path)];
    const children = Array.from({ length: writers }, (_, writer) =>
      spawnLogChild("writer.ts", ["record-log", path, writer, recordsPerWriter, progressPath, "mixed"]),
    );
    await Promise.all(children.map(succeeded));

    const complete = (state: { counts: Record<string, number> }) =>
      Array.from({ length: writers }, (_, writer) => state.counts[writer] === recordsPerWriter).every(Boolean);
    for (const follower of followers) {
      expect(await follower.waitUntil(complete, 30_000)).toBe(true);
      const final = await follower.stop();
      expect(final.problems).toEqual([]);
      expect(final.total).toBe(writers * recordsPerWriter);
    }

    using log = RecordLog.open(path, { capacity: logCapacity });
    const checker = new OrderChecker();
    const positions: number[] = [];
    for (const { position, bytes } of log.records()) {
      checker.accept(bytes);
      positions.push(position);
    }
    expect(checker.problems).toEqual([]);
    expect(checker.total).toBe(writers * recordsPerWriter);
    expect(positions.every((position, index) => index === 0 || position > positions[index - 1]!)).toBe(true);
    const stats = log.stats();
    expect(stats.committed.count).toBe(writers * recordsPerWriter);
    expect(stats.holes.count + stats.abandoned.count + stats.open.count + stats.corrupt.count).toBe(0);
    expect(stats.sealed.count).toBe(stats.blocks);
  }, 90_000);
});
