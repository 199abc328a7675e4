// Four processes put overlapping objects, nodes and action entries into one store
// at once while two more follow them and read each object the moment it appears.
// Every object must be readable by every process, whole, and stored once; every
// contested action key must have exactly one winner. Each property is shown
// failing on the broken variant built into lib/store/testing.ts.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../lib/index.ts";
import { tempDirectory } from "../support/temp.ts";
import { objectBytes, runToEnd, sha256Hex, spawnStoreChild } from "./support.ts";

const root = tempDirectory("store-mp-");
const writers = 4;
interface Workload {
  perWriter: number;
  /** Writer w puts objects [w * overlap, w * overlap + perWriter): each shared with a neighbour. */
  overlap: number;
  size: number;
  /** Each put pauses this long just after publishing (a window for the followers). */
  pauseMs: number;
}
/** Objects in the pool, slow enough to copy that a follower can catch a torn one. */
const followed: Workload = { perWriter: 150, overlap: 75, size: 40 * 1024, pauseMs: 2 };
/** Many small objects: inserts into the index race often enough to catch a lost update. */
const racing: Workload = { perWriter: 3000, overlap: 1500, size: 64, pauseMs: 0 };

interface WriterReport {
  ids: string[];
  won: number[];
  poisoned: number;
}

let runs = 0;
const emptyPoolBytes = (() => {
  using store = ContentStore.open(join(root, "empty"));
  return store.stats().generations[0]!.poolBytes;
})();
async function run(broken: string, workload: Workload = followed) {
  const { perWriter, overlap, size } = workload;
  runs += 1;
  const directory = join(root, `store-${runs}`);
  const go = join(directory, "go");
  ContentStore.open(directory).close();
  const writerChildren = Array.from({ length: writers }, (_, writer) =>
    spawnStoreChild("store-worker.ts", ["write", directory, go, writer * overlap, perWriter, size, writer, broken, workload.pauseMs]),
  );
  const followers = [0, writers - 1].map((writer) =>
    spawnStoreChild("store-worker.ts", ["follow", directory, go, writer * overlap, perWriter, size, broken]),
  );
  writeFileSync(go, "");
  const results = await Promise.all([...writerChildren, ...followers].map((child) => runToEnd(child)));
  for (const result of results) {
    if (result.exitCode !== 0) throw new Error(`child failed (${result.exitCode ?? result.signalCode}): ${result.stderr}`);
  }
  const reports = results.slice(0, writers).map((result) => JSON.parse(result.stdout) as WriterReport);
  const follows = results.slice(writers).map((result) => JSON.parse(result.stdout) as { torn: number; missing: number });
  return { directory, reports, follows, workload };
}

function check(outcome: Awaited<ReturnType<typeof run>>) {
  const { directory, reports, follows, workload } = outcome;
  const { perWriter, overlap, size } = workload;
  const distinct = writers * overlap + (perWriter - overlap);
  using store = ContentStore.open(directory, { verifyOnRead: true });
  let unreadable = 0;
  for (let index = 0; index < distinct; index++) {
    const bytes = objectBytes(index, size);
    const got = store.get(sha256Hex(bytes));
    if (got === null || sha256Hex(got.data) !== sha256Hex(bytes)) unreadable += 1;
    if (store.actions.get(`object ${index}`) !== sha256Hex(bytes)) unreadable += 1;
  }
  // Each contested key: one writer won, every other one was told it was poisoned.
  const winners = new Map<number, number>();
  for (const report of reports) for (const index of report.won) winners.set(index, (winners.get(index) ?? 0) + 1);
  const contested = [...winners.values()];
  const validation = store.validate({ deep: true });
  // Pool bytes against one copy of every object (records: 16-byte header, refs, data, 8-aligned).
  const record = (dataBytes: number, refs: number) => Math.ceil((16 + 32 * refs + dataBytes) / 8) * 8;
  const contestBytes = reports.length * perWriter * record(`writer 0 result ${distinct}`.length, 0);
  const oneCopy = distinct * record(size, 0) + (distinct - 1) * record(16, 2) + contestBytes;
  const poolBytes = store.stats().generations[0]!.poolBytes - emptyPoolBytes;
  return {
    unreadable,
    torn: follows.reduce((sum, follow) => sum + follow.torn + follow.missing, 0),
    multipleWinners: contested.filter((count) => count !== 1).length,
    distinctKeys: winners.size,
    validation,
    poolCopies: poolBytes / oneCopy,
    // objects, nodes over neighbours (the same node from every writer), one contest
    // result per writer per index: each stored once, so the index has exactly these.
    expectedRecords: distinct + (distinct - 1) + writers * perWriter,
  };
}

describe("four processes share one store", () => {
  test("every object readable by every process, whole, stored once; one winner per action key", async () => {
    const result = check(await run("none"));
    expect(result.unreadable).toBe(0);
    expect(result.torn).toBe(0);
    expect(result.multipleWinners).toBe(0);
    expect(result.distinctKeys).toBe(writers * followed.overlap + (followed.perWriter - followed.overlap));
    expect(result.validation.problems).toEqual([]);
    expect(result.validation.objects).toBe(result.expectedRecords);
    expect(result.poolCopies).toBeLessThan(1.2);
  }, 240_000);

  test("broken variant: publishing the index entry before the bytes lets a reader see a torn object", async () => {
    const result = check(await run("publishBeforeWrite"));
    expect(result.torn).toBeGreaterThan(0);
  }, 240_000);

  test("many small objects racing into the index: every one readable, each stored once", async () => {
    const result = check(await run("none", racing));
    expect(result.unreadable).toBe(0);
    expect(result.multipleWinners).toBe(0);
    expect(result.validation.problems).toEqual([]);
    expect(result.validation.objects).toBe(result.expectedRecords);
    // Racing writers may each write an object they both found absent; the rest is one copy.
    console.log(`pool bytes / one copy of each object: ${result.poolCopies.toFixed(3)}`);
    expect(result.poolCopies).toBeLessThan(1.2);
  }, 240_000);

  test("broken variant: writing the bytes of an object already there stores shared objects twice", async () => {
    const result = check(await run("writeEvenIfPresent", racing));
    expect(result.poolCopies).toBeGreaterThan(1.3);
  }, 240_000);

  test("broken variant: a last-writer-wins action cache gives contested keys several winners", async () => {
    const result = check(await run("plainActionPut"));
    expect(result.multipleWinners).toBeGreaterThan(0);
  }, 240_000);
});
