// Damaged stores: random bit flips in a generation's files (index, pool, actions,
// large-object files), then open, deep validation and reads of every id. The only
// acceptable failures are ArenaErrors; a crash, a hang (the child is killed after
// its timeout) or any other exception fails the test. Runs in child processes.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ContentStore } from "../../lib/index.ts";
import { tempDirectory } from "../support/temp.ts";
import { objectBytes, runToEnd, spawnStoreChild } from "./support.ts";

const root = tempDirectory("store-fuzz-");

test("random damage to a store's files is an ArenaError or a validation problem, never a crash", async () => {
  const template = join(root, "template");
  const ids: string[] = [];
  {
    using store = ContentStore.open(template);
    for (let index = 0; index < 40; index++) ids.push(store.put(objectBytes(index, 100 + index * 50)));
    ids.push(store.put(objectBytes(100, 70_000)));
    ids.push(store.put(new TextEncoder().encode("node"), ids.slice(0, 5)));
    ids.push(store.put(objectBytes(101, 80_000), [ids[0]!, ids[40]!]));
    store.actions.put("action 1", ids[41]!);
  }
  const batches = 4;
  const perBatch = 25;
  const results = await Promise.all(
    Array.from({ length: batches }, (_, batch) =>
      runToEnd(spawnStoreChild("fuzz-child.ts", [template, root, batch * perBatch + 1, perBatch, JSON.stringify(ids)]), 120_000),
    ),
  );
  const lines = results.flatMap((result) => result.stdout.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line)));
  const bugs = lines.filter((line) => line.bug !== undefined);
  expect(bugs).toEqual([]);
  for (const result of results) {
    expect(result.signalCode).toBeNull();
    expect(result.exitCode).toBe(0);
  }
  expect(lines.length).toBe(batches * perBatch);
  // The damage was seen: most cases end in a problem report or an error, not "valid".
  expect(lines.filter((line) => line.outcome !== "valid").length).toBeGreaterThan(batches * perBatch * 0.3);
}, 300_000);
