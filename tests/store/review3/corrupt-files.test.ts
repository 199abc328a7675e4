// Review of lib/store (branch review-store), area: damaged files. Fails on main at b70d492.
import { expect, test } from "bun:test";
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";
import { diskBytes } from "../../../lib/store/disk-usage.ts";
import { tempDirectory } from "../../support/temp.ts";
import { objectBytes } from "../support.ts";
import { maxBytes } from "./support.ts";

const root = tempDirectory("review3-corrupt-");

/** Writes `value` over the large-object byte counter in `dataFile` (the first word of the pool's user header, just before the table's name). */
function damageLargeObjectCounter(dataFile: string, value: bigint): void {
  const fd = openSync(dataFile, "r+");
  try {
    const head = Buffer.alloc(1 << 16);
    readSync(fd, head, 0, head.length, 0);
    const name = head.indexOf("mfa.cas.data[sha256]");
    if (name < 16) throw new Error("setup: the pool table's name was not found");
    const word = Buffer.alloc(8);
    word.writeBigInt64LE(value);
    writeSync(fd, word, 0, 8, name - 16); // user header (16 bytes) then the name (docs/DESIGN.md, kind 2)
  } finally {
    closeSync(fd);
  }
}

// FINDINGS.md #10. Generation.largeObjectBytes (generation.ts) is a shared counter in the pool's
// user header, trusted as it is: storageBytes adds it, and #rotateIfFull compares the sum with the
// budget. A damaged counter (one word: a negative value here) makes storageBytes hugely negative,
// so no budget rotation ever happens again, and large objects (files, not pool) never reach the
// 85% table limit either; validate() does not look at the counter. Expected: validate reports an
// impossible counter (negative, or far from the files' sizes), and the store stays bounded.
// Observed: no problem reported, stats() says storageBytes -1152921504543910700, and 60 MiB of
// large objects all stay in v1.0 of a 32 MiB store (61 MiB on disk), growing with every put.
test("a damaged large-object byte counter is reported by validate and does not unbound the store", () => {
  const directory = join(root, "store");
  ContentStore.open(directory, { maxBytes }).close();
  damageLargeObjectCounter(join(directory, "v1.0", "data.v1"), -(2n ** 60n));
  using store = ContentStore.open(directory, { maxBytes });
  const reported = store.validate().problems.length > 0;
  for (let index = 0; index < 60; index++) store.put(objectBytes(index, 2 ** 20));
  expect({ reported, withinLimit: diskBytes(directory) <= 1.5 * maxBytes }).toEqual({ reported: true, withinLimit: true });
});

// After the fix (branch store-fix-files): a put adds a file's length to the counter before
// publishing its index word, so the counter is never below the lengths the index lists; one
// that is (a word damaged to a smaller, plausible value) is reported too, and so is a value
// past 2^53, which no put makes. Overcounting (racing writers of one object each add) is not.
test("a large-object byte counter below the files its index lists, or past 2^53, is reported; one above them is not", () => {
  const problemsWith = (value: bigint) => {
    const directory = join(root, `counter-${value}`);
    ContentStore.open(directory).close();
    {
      using store = ContentStore.open(directory);
      store.put(objectBytes(1, 100_000));
      store.put(objectBytes(2, 200_000));
    }
    damageLargeObjectCounter(join(directory, "v1.0", "data.v1"), value);
    using store = ContentStore.open(directory);
    return { problems: store.validate().problems.map((problem) => problem.replace(/^.*counter reads /, "")), storageBytes: store.stats().storageBytes };
  };
  expect(problemsWith(300_000n).problems).toEqual([]);
  expect(problemsWith(10n ** 9n).problems).toEqual([]);
  expect(problemsWith(299_999n).problems).toEqual(["299999, less than the 300000 bytes of files its index lists"]);
  expect(problemsWith(2n ** 62n)).toEqual({ problems: [`${Number(2n ** 62n)}, which no put could have made (the generation counts as full)`], storageBytes: Infinity });
});
