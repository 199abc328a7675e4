// Child of tests/store/review3/disk-full.test.ts. `DIR`: on a small tmpfs, puts a large object
// (a file of its own) and a small one, rotates once so only the upstream has them, fills the
// disk with a filler file, then reads both. Prints {"large", "small", "hasLarge"}: "ok", "null"
// or the code thrown.
import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../../../lib/index.ts";
import { objectBytes } from "../../support.ts";
import { maxBytes, putUntilRotation } from "../support.ts";

const directory = process.argv[2]!;
const store = ContentStore.open(directory, { maxBytes });
const large = store.put(objectBytes(1, 100_000));
const small = store.put(objectBytes(2, 1000));
putUntilRotation(store, 1000);
const filler = openSync(join(directory, "..", "filler"), "w");
const block = new Uint8Array(1 << 16).fill(1);
try {
  for (;;) writeSync(filler, block);
} catch {
  // ENOSPC: the disk is full
} finally {
  closeSync(filler);
}
const outcome = (read: () => unknown) => {
  try {
    const value = read();
    return value === null ? "null" : value === false ? "false" : "ok";
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
};
console.log(JSON.stringify({ large: outcome(() => store.get(large)), small: outcome(() => store.get(small)), hasLarge: outcome(() => store.has(large)) }));
