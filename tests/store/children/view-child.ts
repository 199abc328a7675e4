// A child process for tests/store/view.test.ts: each mode misuses a view the way
// a caller could, and prints what it saw as JSON. Run in a child so a fault would
// kill it, not the test runner.
//   after-close DIR                 a view kept past close(), read and written; then other stores opened
//   after-rotation DIR VARIANT      a view kept while this process follows rotations
//   write-through DIR               writing through a view of a store, then of a read-only store
//   stolen DIR                      the view's buffer transferred away, then reads and close
import { ContentStore } from "../../../lib/index.ts";
import { useBrokenVariantForTests, type BrokenVariant } from "../../../lib/store/testing.ts";
import { objectBytes, sha256Hex } from "../support.ts";

const [mode, directory, broken] = process.argv.slice(2);
if (broken !== undefined && broken !== "none") useBrokenVariantForTests(broken as BrokenVariant);
const maxBytes = 32 * 2 ** 20;

/** What a kept view shows now: the object's bytes, nothing (detached), or something else (never acceptable). */
function state(view: Uint8Array, expected: Uint8Array): "valid" | "detached" | "other" {
  if (view.length === 0 && (view.buffer as ArrayBuffer).detached) return "detached";
  return view.length === expected.length && Buffer.compare(view, expected) === 0 ? "valid" : "other";
}

if (mode === "after-close") {
  const expected = objectBytes(1, 1024);
  const store = ContentStore.open(directory!);
  const id = store.put(expected);
  for (let index = 2; index < 100; index++) store.put(objectBytes(index, 1024));
  const view = store.view(id)!;
  const before = state(view, expected);
  store.close();
  const after = state(view, expected);
  const read = view[0];
  view[0] = 0xff; // ignored: the buffer is detached
  const writeIgnored = view[0] === undefined && view.length === 0;
  // Open and close other stores of the same sizes (their mappings may reuse the
  // closed one's addresses): the old view must still show nothing.
  const others: string[] = [];
  for (let round = 0; round < 4; round++) {
    using other = ContentStore.open(`${directory}-other-${round}`);
    other.put(objectBytes(1000 + round, 1024));
    others.push(state(view, expected));
  }
  using again = ContentStore.open(directory!);
  const stored = again.get(id)!.data;
  console.log(JSON.stringify({ before, after, read: read === undefined ? "undefined" : read, writeIgnored, others, storedIntact: sha256Hex(stored) === id }));
} else if (mode === "after-rotation") {
  const expected = objectBytes(7, 2048);
  const store = ContentStore.open(directory!, { maxBytes });
  const id = store.put(expected);
  const view = store.view(id)!;
  const states: string[] = [state(view, expected)];
  let generation = store.stats().generations[0]!.number;
  // Put without touching `id` again: each time this process follows a rotation,
  // note what the view shows. Bounded: 8 rotations of 12 MiB each at most.
  for (let index = 1_000; states.length <= 4 && index < 1_000 + 8 * 12 * 256; index++) {
    store.put(objectBytes(index, 4096));
    const now = store.stats().generations[0]!.number;
    if (now !== generation) {
      generation = now;
      states.push(state(view, expected));
    }
  }
  store.close();
  states.push(state(view, expected));
  console.log(JSON.stringify({ states }));
} else if (mode === "write-through") {
  const expected = objectBytes(3, 1024);
  const writer = ContentStore.open(directory!);
  const id = writer.put(expected);
  writer.put(objectBytes(4, 1024));
  const view = writer.view(id)!;
  view[0] = view[0]! ^ 0xff;
  const changedForAll = (() => {
    using reopened = ContentStore.open(directory!);
    return sha256Hex(reopened.get(id)!.data) !== id;
  })();
  let verifyCode = "none";
  {
    using verifying = ContentStore.open(directory!, { verifyOnRead: true });
    for (const read of [() => verifying.get(id), () => verifying.view(id)]) {
      try {
        read();
      } catch (error) {
        verifyCode = (error as { code?: string }).code ?? "?";
      }
    }
  }
  const problems = writer.validate({ deep: true }).problems.length;
  view[0] = view[0]! ^ 0xff; // put it back, for the read-only half
  writer.close();
  // Read-only: a write through the view changes this process's private page only.
  const reader = ContentStore.openReadOnly(directory!);
  const readerView = reader.view(id)!;
  readerView[0] = readerView[0]! ^ 0xff;
  const ownCopyChanged = sha256Hex(reader.get(id)!.data) !== id;
  reader.close();
  using fresh = ContentStore.openReadOnly(directory!);
  const fileIntact = sha256Hex(fresh.get(id)!.data) === id;
  console.log(JSON.stringify({ changedForAll, verifyCode, problems, ownCopyChanged, fileIntact }));
} else if (mode === "stolen") {
  const store = ContentStore.open(directory!);
  const ids = Array.from({ length: 50 }, (_, index) => store.put(objectBytes(index, 1024)));
  const view = store.view(ids[0]!)!;
  const taken = (view.buffer as ArrayBuffer).transfer(); // the pool's whole mapping, out of the store's reach
  const stolen = view.length === 0 && taken.byteLength > 0;
  // The store makes a fresh buffer over the same memory: reads and views go on.
  let intact = 0;
  for (const id of ids) if (sha256Hex(store.get(id)!.data) === id && sha256Hex(store.view(id)!) === id) intact += 1;
  store.close();
  // What was taken cannot be detached: the mapping under it is now zero pages.
  const takenBytes = new Uint8Array(taken);
  let nonZero = 0;
  for (let offset = 0; offset < Math.min(takenBytes.length, 1 << 20); offset += 4096) nonZero += takenBytes[offset]!;
  console.log(JSON.stringify({ stolen, intact, nonZeroAfterClose: nonZero }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
