// A process killed in the middle of put leaves nothing half-visible, and loses
// nothing that put had returned. The kill point is exact (the child SIGKILLs
// itself at a named point inside put), so the broken variant's failure is certain;
// then rounds of SIGKILLs at random moments check acknowledged puts survive.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ContentStore } from "../../lib/index.ts";
import { lineReader } from "../support/processes.ts";
import { prng } from "../support/random.ts";
import { tempDirectory } from "../support/temp.ts";
import { objectBytes, runToEnd, sha256Hex, spawnStoreChild } from "./support.ts";

const root = tempDirectory("store-crash-");
const size = 4096;
const killedPut = 20;

async function crashAt(name: string, point: string, broken: string) {
  const directory = join(root, name);
  const result = await runToEnd(spawnStoreChild("store-worker.ts", ["crash-at", directory, point, killedPut, size, broken]));
  expect(result.signalCode).toBe("SIGKILL");
  return directory;
}

function readBack(directory: string) {
  using store = ContentStore.open(directory, { verifyOnRead: true });
  const outcome = (index: number) => {
    const id = sha256Hex(objectBytes(index, size));
    try {
      const got = store.get(id);
      return got === null ? "absent" : sha256Hex(got.data) === id ? "whole" : "torn";
    } catch (error) {
      return (error as { code?: string }).code === "ERR_CAS_CORRUPT" ? "torn" : "error";
    }
  };
  const earlier = Array.from({ length: killedPut }, (_, index) => outcome(index));
  return { earlier, killed: outcome(killedPut), problems: store.validate({ deep: true }).problems };
}

describe("a put killed at a named point", () => {
  test("killed after writing the bytes, before publishing: the object is absent, the rest whole", async () => {
    const result = readBack(await crashAt("after-bytes", "bytes-written", "none"));
    expect(result.earlier.every((outcome) => outcome === "whole")).toBe(true);
    expect(result.killed).toBe("absent");
    expect(result.problems).toEqual([]);
  }, 60_000);

  test("killed just after publishing: the object is whole", async () => {
    const result = readBack(await crashAt("after-publish", "index-published", "none"));
    expect(result.killed).toBe("whole");
    expect(result.problems).toEqual([]);
  }, 60_000);

  test("broken variant: publishing before writing leaves a torn object that get and validate catch", async () => {
    const result = readBack(await crashAt("broken", "index-published", "publishBeforeWrite"));
    expect(result.killed).toBe("torn");
    expect(result.problems.some((problem) => problem.includes("does not hash to its id"))).toBe(true);
  }, 60_000);
});

test("SIGKILL rounds at random moments lose no acknowledged put", async () => {
  const directory = join(root, "rounds");
  const random = prng(7);
  const acknowledged: { index: number; size: number; id: string }[] = [];
  for (let round = 0; round < 5; round++) {
    const child = spawnStoreChild("store-worker.ts", ["ack-until-killed", directory, round * 100_000, 2048]);
    const lines = lineReader(child.stdout);
    const wanted = 30 + Math.floor(random() * 200);
    for (let count = 0; count < wanted; count++) {
      const [, index, bytes, id] = (await lines.waitFor((line) => line.startsWith("ack "), 60_000)).split(" ");
      acknowledged.push({ index: Number(index), size: Number(bytes), id: id! });
    }
    child.kill("SIGKILL");
    await child.exited;
    expect(child.signalCode).toBe("SIGKILL");
  }
  using store = ContentStore.open(directory, { verifyOnRead: true });
  const lost = acknowledged.filter(({ index, size, id }) => {
    const got = store.get(id);
    if (got === null || sha256Hex(got.data) !== id || id !== sha256Hex(objectBytes(index, size))) return true;
    return index % 7 === 0 && store.actions.get(`ack ${index}`) !== id;
  });
  expect(acknowledged.length).toBeGreaterThan(150);
  expect(lost).toEqual([]);
  expect(store.validate({ deep: true }).problems).toEqual([]);
}, 180_000);
