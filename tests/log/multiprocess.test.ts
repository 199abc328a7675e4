// Several writer processes append to one RecordLog while follower processes read
// it live: every follower reads every record exactly once, whole, and each
// writer's records in order; a scan afterwards finds the same, and stats() agrees.
import { describe, expect, test } from "bun:test";
import { Worker } from "node:worker_threads";
import { RecordLog } from "../../lib/index.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";
import { OrderChecker } from "./support/payloads.ts";
import { openProgress } from "./support/progress.ts";
import { logCapacity, testBlockSize } from "./support/log-kinds.ts";
import { spawnLogChild, succeeded, WatchedFollower } from "./support/children.ts";
import { fileOrderFollow } from "./support/file-order-follow.ts";

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

describe("an idle writer does not hold back the others", () => {
  /**
   * This process appends one record and stays open (alive, its block unsealed);
   * then a writer process appends 500 records, in later blocks. A follower must
   * yield them while the idle writer is still open. Returns how many it got.
   */
  async function recordsPassedIdleWriter(follow: (path: string, signal: AbortSignal) => AsyncIterable<Uint8Array>): Promise<number> {
    const path = freshPath(directory, "log");
    const progressPath = freshPath(directory, "progress");
    openProgress(progressPath).arena.close();
    using idle = RecordLog.open(path, { capacity: logCapacity, blockSize: testBlockSize });
    idle.append(new Uint8Array(8));
    await succeeded(spawnLogChild("writer.ts", ["record-log", path, 1, 500, progressPath]));
    const checker = new OrderChecker();
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), 3_000); // the records are in the file already: 3 s is plenty
    for await (const bytes of follow(path, stop.signal)) {
      if (bytes.length === 8 && bytes.every((byte) => byte === 0)) continue; // the idle writer's record
      checker.accept(bytes);
      if (checker.total === 500) stop.abort();
    }
    clearTimeout(timer);
    expect(checker.problems).toEqual([]);
    return checker.total;
  }

  test("RecordLog.follow yields every later record while the idle writer's block stays open", async () => {
    const got = await recordsPassedIdleWriter(async function* (path, signal) {
      using log = RecordLog.open(path, { capacity: logCapacity });
      for await (const { bytes } of log.follow(0, { signal })) yield bytes;
    });
    expect(got).toBe(500);
  }, 30_000);

  test("broken variant, strict file order: it waits behind the idle writer's block and yields none", async () => {
    const got = await recordsPassedIdleWriter((path, signal) => fileOrderFollow(path, logCapacity, testBlockSize, signal));
    expect(got).toBe(0);
  }, 30_000);
});

describe("RecordLog across Workers of one process", () => {
  test("3 Workers append while this thread follows: each is its own writer, nothing lost or reordered", async () => {
    // Each Worker's log holds its own slot lock: were the locks per process (classic
    // fcntl locks), the Workers would share a slot, and a reader could take the
    // first one's open block for a dead writer's and stop reading it (not shown failing here:
    // the suite has no per-process lock to swap in).
    const path = freshPath(directory, "log");
    using log = RecordLog.open(path, { capacity: logCapacity, blockSize: testBlockSize });
    const workers = [1, 2, 3].map(
      (writer) => new Worker(new URL("./children/worker-writer.ts", import.meta.url), { workerData: { path, writer, records: 3000 } }),
    );
    const done = Promise.all(workers.map((worker) => new Promise((resolve, reject) => worker.once("message", resolve).once("error", reject))));
    const checker = new OrderChecker();
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), 60_000);
    for await (const { bytes } of log.follow(0, { signal: stop.signal })) {
      checker.accept(bytes);
      if (checker.total === 9000) stop.abort();
    }
    clearTimeout(timer);
    await done;
    await Promise.all(workers.map((worker) => worker.terminate()));
    expect(checker.problems).toEqual([]);
    expect(checker.counts()).toEqual({ "1": 3000, "2": 3000, "3": 3000 });
    const stats = log.stats();
    expect(stats.abandoned.count + stats.open.count + stats.holes.count).toBe(0);
  }, 90_000);
});
