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
const perWriter = 150;
const overlap = 75; // writer w puts objects [w * 75, w * 75 + 150): each shared with a neighbour
const size = 40 * 1024; // in the pool, and slow enough to copy that a follower can catch a torn one

interface WriterReport {
  ids: string[];
  won: number[];
  poisoned: number;
}

let runs = 0;
async function run(broken: string) {
  runs += 1;
  const directory = join(root, `store-${runs}`);
  const go = join(directory, "go");
  ContentStore.open(directory).close();
  const writerChildren = Array.from({ length: writers }, (_, writer) =>
    spawnStoreChild("store-worker.ts", ["write", directory, go, writer * overlap, perWriter, size, writer, broken]),
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
  return { directory, reports, follows };
}

function check(outcome: Awaited<ReturnType<typeof run>>) {
  const { directory, reports, follows } = outcome;
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
  return {
    unreadable,
    torn: follows.reduce((sum, follow) => sum + follow.torn + follow.missing, 0),
    multipleWinners: contested.filter((count) => count !== 1).length,
    distinctKeys: winners.size,
    validation,
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
    expect(result.distinctKeys).toBe(writers * overlap + (perWriter - overlap));
    expect(result.validation.problems).toEqual([]);
    expect(result.validation.objects).toBe(result.expectedRecords);
  }, 240_000);

  test("broken variant: publishing the index entry before the bytes lets a reader see a torn object", async () => {
    const result = check(await run("publishBeforeWrite"));
    expect(result.torn).toBeGreaterThan(0);
  }, 240_000);

  test("broken variant: a last-writer-wins action cache gives contested keys several winners", async () => {
    const result = check(await run("plainActionPut"));
    expect(result.multipleWinners).toBeGreaterThan(0);
  }, 240_000);
});
