// A store with maxBytes stays bounded: three writer processes put three times
// maxBytes between them, generations rotate under them, and at the end the store
// is within the limit on disk. The writers read a hot set (objects, a tree of
// them, an action entry) every 64 puts, and a fourth process reads it over and
// over: none of them ever misses one, because what is read is copied forward into
// the newest generation. (The writers' reads make that certain whatever the
// scheduling: the generations fill only as fast as they read.) Each writer also
// reads back every object it has just put. Shown failing on the broken variant
// that never copies forward.
//
// Then the same workload while another process holds old generations open (it
// opened the store, read the hot set, and went idle): they cannot be deleted, so
// the directory grows past the limit; once it closes, the store is back within
// the limit on disk with nobody calling gc(), because close() collects what no
// process holds any more. Shown failing on the broken variant whose close leaves
// them.
import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../lib/index.ts";
import { diskBytes } from "../../lib/store/disk-usage.ts";
import { tempDirectory } from "../support/temp.ts";
import { putHotSet, runToEnd, spawnStoreChild } from "./support.ts";

const root = tempDirectory("store-bounded-");
const maxBytes = 32 * 2 ** 20;
const writers = 3;

async function workload(name: string, broken: string) {
  const directory = join(root, name);
  const go = join(directory, "go");
  const done = join(directory, "done");
  {
    using store = ContentStore.open(directory, { maxBytes });
    putHotSet(store);
  }
  const reader = spawnStoreChild("store-worker.ts", ["hot", directory, go, maxBytes, done, broken]);
  const fillers = Array.from({ length: writers }, (_, writer) =>
    spawnStoreChild("store-worker.ts", ["fill", directory, go, maxBytes, writer * 1_000_000, maxBytes, broken]),
  );
  writeFileSync(go, "");
  let peakBytes = 0;
  const sampler = setInterval(() => (peakBytes = Math.max(peakBytes, diskBytes(directory))), 50);
  const filled = await Promise.all(fillers.map((child) => runToEnd(child, 240_000)));
  clearInterval(sampler);
  writeFileSync(done, "");
  const read = await runToEnd(reader, 240_000);
  for (const result of [...filled, read]) {
    if (result.exitCode !== 0) throw new Error(`child failed (${result.exitCode ?? result.signalCode}): ${result.stderr}`);
  }
  const fills = filled.map((result) => JSON.parse(result.stdout) as { lostAfterPut: number; hotLost: number; generation: number });
  const hot = JSON.parse(read.stdout) as { lost: number; sweeps: number; generations: number };
  using store = ContentStore.open(directory, { maxBytes });
  store.gc();
  const problems = store.validate({ deep: true }).problems;
  store.close();
  return { fills, hot, problems, peakBytes, diskBytes: diskBytes(directory), generation: Math.max(...fills.map((fill) => fill.generation)) };
}

/** Fills while an idle process holds the generations it opened; then lets it go. Nobody calls gc(). */
async function workloadWithHolder(name: string, broken: string) {
  const directory = join(root, name);
  const [go, ready, release] = ["go", "ready", "release"].map((file) => join(directory, file));
  {
    using store = ContentStore.open(directory, { maxBytes });
    putHotSet(store);
  }
  // The holder fills most of a generation first, so what it pins is worth measuring.
  const holder = spawnStoreChild("store-worker.ts", ["hold", directory, maxBytes, 0.4 * maxBytes, ready!, release!, broken]);
  const deadline = Date.now() + 120_000;
  while (!existsSync(ready!) && Date.now() < deadline && holder.exitCode === null) await Bun.sleep(10);
  const fillers = Array.from({ length: writers }, (_, writer) =>
    spawnStoreChild("store-worker.ts", ["fill", directory, go!, maxBytes, writer * 1_000_000, maxBytes, broken]),
  );
  writeFileSync(go!, "");
  let peakBytes = 0;
  const sampler = setInterval(() => (peakBytes = Math.max(peakBytes, diskBytes(directory))), 50);
  const filled = await Promise.all(fillers.map((child) => runToEnd(child, 240_000)));
  clearInterval(sampler);
  const heldBytes = diskBytes(directory);
  writeFileSync(release!, "");
  const held = await runToEnd(holder, 240_000);
  for (const result of [...filled, held]) {
    if (result.exitCode !== 0) throw new Error(`child failed (${result.exitCode ?? result.signalCode}): ${result.stderr}`);
  }
  const fills = filled.map((result) => JSON.parse(result.stdout) as { lostAfterPut: number; hotLost: number; generation: number });
  return { fills, holder: JSON.parse(held.stdout) as { lost: number; held: number[] }, peakBytes: Math.max(peakBytes, heldBytes), heldBytes, diskBytes: diskBytes(directory) };
}

describe("a store bounded by maxBytes", () => {
  test("a workload of three times maxBytes ends within the limit, losing nothing that is being read", async () => {
    const result = await workload("bounded", "none");
    console.log(
      `3 x ${maxBytes / 2 ** 20} MiB written by ${writers} processes: ${result.generation} rotations, ` +
        `${(result.diskBytes / 2 ** 20).toFixed(1)} MiB on disk at the end (peak seen while running ${(result.peakBytes / 2 ** 20).toFixed(1)} MiB); hot reader: ${result.hot.sweeps} sweeps over ${result.hot.generations} generations`,
    );
    expect(result.generation).toBeGreaterThanOrEqual(4); // it did rotate, several times
    expect(result.diskBytes).toBeLessThanOrEqual(maxBytes);
    expect(result.fills.map((fill) => fill.lostAfterPut)).toEqual([0, 0, 0]);
    expect(result.fills.map((fill) => fill.hotLost)).toEqual([0, 0, 0]);
    expect(result.hot.generations).toBeGreaterThan(1);
    expect(result.hot.lost).toBe(0);
    expect(result.problems).toEqual([]);
  }, 300_000);

  test("broken variant: without copying forward on read, the hot set is lost in rotation", async () => {
    const result = await workload("no-copy-forward", "noCopyForward");
    expect(result.fills.reduce((sum, fill) => sum + fill.hotLost, 0) + result.hot.lost).toBeGreaterThan(0);
  }, 300_000);

  test("while a process holds old generations the directory grows past the limit; once it lets go, the store is within it", async () => {
    const result = await workloadWithHolder("holder", "none");
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    console.log(
      `holder had generations ${result.holder.held.join(", ")}: peak ${mib(result.peakBytes)} MiB, ` +
        `${mib(result.heldBytes)} MiB when the writers ended, ${mib(result.diskBytes)} MiB after the holder closed`,
    );
    expect(result.holder.lost).toBe(0);
    expect(result.fills.map((fill) => fill.lostAfterPut)).toEqual([0, 0, 0]);
    expect(result.heldBytes).toBeGreaterThan(maxBytes); // the holder did pin what it had
    expect(result.diskBytes).toBeLessThanOrEqual(maxBytes);
  }, 300_000);

  test("broken variant: a close that does not collect leaves the store past its limit", async () => {
    const result = await workloadWithHolder("holder-no-collect", "noCollectOnClose");
    expect(result.heldBytes).toBeGreaterThan(maxBytes);
    expect(result.diskBytes).toBeGreaterThan(maxBytes);
  }, 300_000);
});
