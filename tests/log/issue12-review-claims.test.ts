// Issue 12, from an independent review of the record log: claims, a stopped
// claimer, Workers. Interleavings that the real code reaches only by chance (a
// claim refused on ENOSPC while a follower polls, a writer stopped in its
// claiming window) are made certain as children/dead-writer.ts does: by doing
// the writer's steps with the log's own format and slot code.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { MappedFileRegionArena, RecordLog, ArenaError } from "../../lib/index.ts";
import { openFile } from "../../lib/native/native.ts";
import { arenaHeaderOffset, claimingValue, slotClaimingWord } from "../../lib/log/format.ts";
import { takeSlot } from "../../lib/log/writer-slots.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";
import { lineReader } from "../support/processes.ts";

const directory = tempDirectory("review-log-");
const capacity = 16 * 1024 * 1024;
const blockSize = 4096;
const options = { capacity, blockSize };
const bytesOf = (value: string) => new TextEncoder().encode(value);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
/** How long a follower may take to yield a committed record: generous, for a loaded machine. */
const arrivalMs = 5_000;

/** The next record of `follow`, or "nothing" if none arrives within `ms`. */
async function nextWithin(follow: AsyncGenerator<{ bytes: Uint8Array }>, ms: number): Promise<string> {
  let timer: Timer | undefined;
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("nothing"), ms)));
  try {
    return await Promise.race([follow.next().then((r) => (r.done ? "done" : text(r.value.bytes))), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A second view of the log as its writers see it: the slot table and the arena's bump pointer. */
function rawView(path: string) {
  const arena = MappedFileRegionArena.create(path, { capacity, headerOffset: arenaHeaderOffset });
  const header = arena.bytes(0, 4096);
  const slotWords = new Int32Array(header.buffer, header.byteOffset, arenaHeaderOffset / 4);
  const bumpPointer = new BigUint64Array(header.buffer, header.byteOffset + arenaHeaderOffset, 4);
  const fd = openFile(path, { create: false });
  return { arena, slotWords, bumpPointer, fd };
}

const opened: { close(): void }[] = [];
afterAll(() => opened.forEach((thing) => thing.close()));

describe("issue 12 review: claims", () => {
  /**
   * A claim refused on ENOSPC while a follower polls, then the same block claimed
   * and filled by the next writer. `undoAfterAdd` is the broken variant built in:
   * the arena's allocateOffset (an add, taken back when the reservation fails),
   * which the log used before; the log's own claim (arena.tryAllocateAt) reserves
   * first and swaps after, so a refused claim never moves the bump pointer.
   * Returns what the follower yields after "first".
   */
  async function claimRefusedOnFullDisk(name: string, undoAfterAdd: boolean): Promise<string> {
    const path = freshPath(directory, name);
    const first = RecordLog.open(path, options);
    opened.push(first);
    first.append(bytesOf("first"));
    const reader = RecordLog.open(path, options);
    opened.push(reader);
    const stop = new AbortController();
    const follow = reader.follow(0, { signal: stop.signal });
    expect(await nextWithin(follow, arrivalMs)).toBe("first");

    // A writer's claim (record-log.ts #claimFreshBlock), up to its reservation.
    const claimer = rawView(path);
    opened.push(claimer.arena);
    const held = takeSlot(claimer.fd, path, claimer.slotWords);
    const start = claimer.arena.size;
    Atomics.store(claimer.slotWords, slotClaimingWord(held.slot), claimingValue((start - 4096) / blockSize));
    if (undoAfterAdd) expect(claimer.arena.allocateOffset(blockSize)).toBe(start);
    // The follower polls now (next() runs one poll before it waits).
    const arrival = nextWithin(follow, 60_000);
    // fallocate fails (ENOSPC). The broken variant takes its add back (nobody allocated after).
    if (undoAfterAdd) {
      expect(Atomics.compareExchange(claimer.bumpPointer, 0, BigInt(start + blockSize), BigInt(start))).toBe(BigInt(start + blockSize));
    }
    Atomics.store(claimer.slotWords, slotClaimingWord(held.slot), 0);
    await Bun.sleep(1000); // the follower asks the kernel every 4 ms: no claim in progress, no stamp

    // Space comes back; the next claim gets the very same block and commits a record in it.
    const second = RecordLog.open(path, options);
    opened.push(second);
    expect(second.append(bytesOf("second"))).toBe(start + 16);
    expect([...reader.records()].map((r) => text(r.bytes))).toEqual(["first", "second"]);
    const got = await Promise.race([arrival, Bun.sleep(arrivalMs).then(() => "nothing")]);
    stop.abort();
    return got;
  }

  test("a claim refused on ENOSPC never moves the bump pointer, so followers read the block's next claimer", async () => {
    expect(await claimRefusedOnFullDisk("enospc", false)).toBe("second");
  }, 30_000);

  test("the broken variant (an add taken back on ENOSPC, as allocateOffset does) loses the record for a follower", async () => {
    expect(await claimRefusedOnFullDisk("enospc-undo", true)).toBe("nothing");
  }, 30_000);

  test("a writer refused with ERR_LOG_CORRUPT clears its claiming word: holes are still reported as holes", () => {
    const path = freshPath(directory, "claiming-leak");
    const writer = RecordLog.open(path, options);
    opened.push(writer);
    writer.append(bytesOf("block 0"));
    const raw = rawView(path);
    opened.push(raw.arena);
    raw.arena.allocateOffset(blockSize); // block 1: claimed, never stamped, claimer gone (a hole)
    const reader = RecordLog.open(path, options);
    opened.push(reader);
    expect(reader.stats().holes.count).toBe(1);

    raw.arena.allocateOffset(8); // a foreign allocation: the next claim is not on a block boundary
    const refused = RecordLog.open(path, options);
    opened.push(refused);
    expect(() => refused.append(bytesOf("x"))).toThrow(ArenaError);
    // The refused writer is alive and idle. Nobody is claiming.
    const stats = reader.stats();
    expect(stats.claiming.count).toBe(0);
    expect(stats.holes.count).toBeGreaterThanOrEqual(1);
  });
});

describe("issue 12 review: a slow writer stalls nobody else", () => {
  /**
   * A writer stopped while claiming (children/stopped-claimer.ts, `kind`), then
   * 300 blocks claimed by writers that died before stamping them, then a live
   * writer's record. Returns what a follower yields and what stats() says.
   */
  async function stoppedClaimerAndHoles(name: string, kind: "named" | "some") {
    const path = freshPath(directory, name);
    RecordLog.open(path, options).close();
    const child = Bun.spawn(
      [process.execPath, join(import.meta.dir, "children", "stopped-claimer.ts"), path, String(capacity), String(blockSize), kind],
      { stdin: "ignore", stdout: "pipe", stderr: "inherit" },
    );
    try {
      await lineReader(child.stdout).waitFor((line) => line === "claiming", 30_000);
      // 300 blocks claimed by writers that died before stamping them (dead-writer.ts "claimed").
      const raw = rawView(path);
      opened.push(raw.arena);
      for (let i = 0; i < 300; i++) raw.arena.allocateOffset(blockSize);
      const reader = RecordLog.open(path, options);
      opened.push(reader);
      const stop = new AbortController();
      const follow = reader.follow(0, { signal: stop.signal });
      const writer = RecordLog.open(path, options);
      opened.push(writer);
      writer.append(bytesOf("live writer's record"));
      const got = await nextWithin(follow, arrivalMs);
      stop.abort();
      const stats = reader.stats();
      return { got, holes: stats.holes.count, claiming: stats.claiming.count };
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
  }

  test("a writer stopped while claiming does not keep a follower from a live writer's records behind many holes", async () => {
    // Even one whose claiming word names no block ("some", as older writers store):
    // every hole stays undecided while it is stopped, but undecided blocks do not
    // fill the follower's list, so the live writer's record still arrives.
    expect(await stoppedClaimerAndHoles("stopped-claimer-some", "some")).toEqual({ got: "live writer's record", holes: 0, claiming: 300 });
  }, 60_000);

  test("a writer stopped while claiming a block delays the verdict on that block only; the other holes are holes", async () => {
    expect(await stoppedClaimerAndHoles("stopped-claimer-named", "named")).toEqual({ got: "live writer's record", holes: 299, claiming: 1 });
  }, 60_000);
});

describe("issue 12 review: Workers", () => {
  // The slot lock belongs to the process's open file description, not to the
  // Worker: a Worker's death is seen only when it closes its log (docs/log.md).
  async function workerWriter(path: string, close: boolean): Promise<Worker> {
    const worker = new Worker(join(import.meta.dir, "children", "worker-idle-writer.ts"));
    await new Promise<void>((resolve, reject) => {
      worker.onmessage = () => resolve();
      worker.onerror = (event) => reject(new Error(String(event.message)));
      worker.postMessage({ path, capacity, blockSize, close });
    });
    worker.terminate();
    await Bun.sleep(200);
    return worker;
  }

  test("a Worker that closes its log before it is terminated leaves its block sealed and its slot free", async () => {
    const path = freshPath(directory, "worker-closed");
    await workerWriter(path, true);
    const reader = RecordLog.open(path, options);
    opened.push(reader);
    const stats = reader.stats();
    expect(stats.open.count).toBe(0);
    expect(stats.sealed.count).toBe(1);
    expect(stats.committed.count).toBe(1);
  }, 30_000);

  test("a Worker terminated without close() stays a live writer until the process exits (documented)", async () => {
    const path = freshPath(directory, "worker-unclosed");
    await workerWriter(path, false);
    const reader = RecordLog.open(path, options);
    opened.push(reader);
    const stats = reader.stats();
    expect(stats.open.count).toBe(1);
    expect(stats.abandoned.count).toBe(0);
    expect(stats.committed.count).toBe(1);
  }, 30_000);
});
