// Child of tests/store/review5/disk-full.test.ts. `DIR` on a small tmpfs: fills the primary just
// past its budget (no rotation yet: this opener looks every 256 KiB), fills the disk with a filler
// file, then a second opener's first put looks at the budget and rotates, which fails (the next
// generation's tables cannot be made). Then both openers read objects that generation v1.0 holds
// in its pool. Prints {"put", "firstGet", "secondGet", "secondHas", "firstView"}: "ok", "null" or the code thrown.
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../../../lib/index.ts";
import { objectBytes } from "../../support.ts";

const maxBytes = 32 * 2 ** 20;
const budgetBytes = maxBytes / 2 - 4 * 2 ** 20;
const directory = process.argv[2]!;
const first = ContentStore.open(directory, { maxBytes });
const ids: string[] = [];
let index = 0;
while (first.stats().generations[0]!.storageBytes <= budgetBytes) ids.push(first.put(objectBytes(index++, 30_000)));
if (first.stats().generations.length !== 1) throw new Error("setup: the first opener rotated");
const filler = openSync(join(directory, "..", "filler"), "w");
const block = new Uint8Array(4096).fill(1);
try {
  for (;;) writeSync(filler, block);
} catch {
  // ENOSPC: the disk is full
} finally {
  closeSync(filler);
}
const outcome = (read: () => unknown) => {
  try {
    return read() === null ? "null" : "ok";
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
};
const second = ContentStore.open(directory, { maxBytes });
console.log(
  JSON.stringify({
    put: outcome(() => second.put(objectBytes(1_000_000, 100))),
    firstGet: outcome(() => first.get(ids[0]!)),
    secondGet: outcome(() => second.get(ids[1]!)),
    secondHas: outcome(() => second.has(ids[2]!)),
    firstView: outcome(() => first.view(ids[3]!)),
  }),
);
