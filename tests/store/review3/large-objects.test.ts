// Review of lib/store (branch review-store), area: objects in files of their own. Fails on
// main at b70d492. The damaged file is read in a child process, so the test runner's memory
// is not what pays for it.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";
import { tempDirectory } from "../../support/temp.ts";
import { runToEnd } from "../support.ts";

const root = tempDirectory("review3-large-");

// FINDINGS.md #7. readObject (object-io.ts, the leafFile and recordFile cases) reads the whole file
// with readWholeFile (large-objects.ts: readFileSync of the descriptor) and only then compares
// its length with the index word's. A large-object file that is longer than its index says
// (damage, a hostile or sparse file) is read whole into memory first. Expected: the length is
// checked (one fstat) before reading, so get() throws ERR_CAS_CORRUPT having read nothing, as
// validate() does with a stat. Observed: ERR_CAS_CORRUPT, but only after reading the whole file:
// peak memory grew by ~512 MiB for a 70,000-byte object (by 1.5 GiB for a 1.5 GiB file and
// 4.7 GiB for a 3 GiB one in a probe): a sparse file of a few hundred GiB is an out-of-memory
// kill of every process that reads the object (or copies it forward).
test("get of a large object whose file is much longer than its index says fails without reading the file into memory", async () => {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "children", "oversized-file.ts"), join(root, "store")], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const result = await runToEnd(child);
  expect(result.exitCode).toBe(0);
  const outcome = JSON.parse(result.stdout.trim()) as { code: string; rssGrowthBytes: number };
  expect(outcome.code).toBe("ERR_CAS_CORRUPT");
  expect(outcome.rssGrowthBytes).toBeLessThan(64 * 2 ** 20);
}, 120_000);

// The findings' documentation note (branch store-fix-files): the threshold is on the record (16 bytes
// of header, 32 a ref, then the data), as docs/store.md and docs/DESIGN.md now say: a leaf of
// 65,520 bytes and a node with one ref of 65,488 get files of their own, one byte less does not.
test("a leaf of 65,520 bytes and a node with one ref of 65,488 get a file of their own, one byte less stays in the pool", () => {
  const directory = join(root, "threshold");
  using store = ContentStore.open(directory);
  const ref = store.put(new Uint8Array(1));
  const hasFile = (id: string) => existsSync(join(directory, "v1.0", `leaf.${id}`)) || existsSync(join(directory, "v1.0", `obj.${id}`));
  const filed = (size: number, refs: string[]) => hasFile(store.put(new Uint8Array(size).fill(7), refs));
  expect([filed(65_519, []), filed(65_520, []), filed(65_487, [ref]), filed(65_488, [ref])]).toEqual([false, true, false, true]);
});
