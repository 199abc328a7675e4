// Review of lib/store (branch review-store), area: limits. Fails on main at b70d492.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";
import { tempDirectory } from "../../support/temp.ts";
import { objectBytes } from "../support.ts";
import { budgetBytes, maxBytes, primaryOf } from "./support.ts";

const root = tempDirectory("review3-limits-");

// FINDINGS.md #5. Only put() ever asks whether the primary must rotate (#rotateIfFull, after
// budgetCheckBytes of new objects); actions.put (action-cache.ts #putHashed) inserts into the
// primary's action table and never does, although storageBytes and hardLimitUtilization count
// that table. A process that records actions for objects already stored (a build whose outputs
// are all cached, but whose action keys are new) grows the store without bound and then fails.
// Expected: the store stays about maxBytes (32 MiB here) and actions.put keeps working (it
// rotates as put does). Observed: v1.0 alone grows to 64 MiB (the action table's capacity for
// this maxBytes, capacitiesFor), then actions.put throws ERR_ARENA_FULL ("520 bytes do not fit
// in the capacity 67108864 of .../actions.v1") at about 382,000 entries, and keeps throwing
// until some put() of 256 KiB of new objects happens to rotate: not an error docs/store.md lists.
test("actions.put alone keeps the store within maxBytes and never fills the action table", () => {
  using store = ContentStore.open(join(root, "store"), { maxBytes });
  const id = store.put(new TextEncoder().encode("an output every action names"));
  let failure: string | null = null;
  for (let index = 0; index < 450_000 && failure === null; index++) {
    try {
      store.actions.put(`action ${index}`, id);
    } catch (error) {
      failure = `${(error as { code?: string }).code} at entry ${index}`;
    }
  }
  expect({ failure, withinLimit: store.stats().storageBytes <= maxBytes }).toEqual({ failure: null, withinLimit: true });
}, 120_000);

// FINDINGS.md #6. An object larger than a generation's budget (maxBytes / 2 - 4 MiB: 12 MiB of
// a 32 MiB store) sits in the upstream after its put rotates. get() copies it forward into the
// primary (#getSlowly), which takes the primary past its budget, so the same get rotates
// (#rotateIfFull after the copy, content-store.ts:453): the copy is now in the upstream again.
// Expected: once read, the object is where the next read finds it without another copy (e.g. the
// copy goes into a fresh generation, or a copy does not rotate the generation it just filled).
// Observed: every get of a 13 MiB object rewrites its 13 MiB file and starts a new generation
// (10 rotations for 10 gets), and each of those rotations moves every other object one step
// closer to deletion: a loop reading one big object flushes the rest of the cache.
test("reading the same object larger than half the budget again and again does not rotate on every read", () => {
  using store = ContentStore.open(join(root, "big-object"), { maxBytes });
  const id = store.put(new Uint8Array(13 * 2 ** 20).fill(7));
  store.get(id);
  const before = primaryOf(store).number;
  for (let read = 0; read < 10; read++) store.get(id);
  expect(primaryOf(store).number - before).toBeLessThanOrEqual(1);
});

// FINDINGS.md #6 again, with the object in the upstream when the reads begin (store-fix-rotation).
// The test above reads right after the put; a write now looks at the budget before it writes, not
// after, so there the object is still in the primary. Here another opener's first put (which
// looks) rotates away from it first: the first get must copy it forward, and the copy must stay
// in the primary for the reads after it. On main at b70d492: 10 rotations in 10 reads.
test("an object larger than half the budget, found in the upstream, is copied forward once and then read without rotating", () => {
  const directory = join(root, "big-object-upstream");
  using store = ContentStore.open(directory, { maxBytes });
  const id = store.put(new Uint8Array(13 * 2 ** 20).fill(8));
  {
    using other = ContentStore.open(directory, { maxBytes });
    other.put(new TextEncoder().encode("the first put of an opener looks at the budget"));
  }
  const before = primaryOf(store).number;
  expect(before).toBe(1); // the other opener's put rotated away from the object, as set up
  for (let read = 0; read < 10; read++) expect(store.get(id)?.data.length).toBe(13 * 2 ** 20);
  expect(primaryOf(store).number - before).toBeLessThanOrEqual(1);
});

// FINDINGS.md #3. put() compares the primary with its budget only once this opener has written
// budgetCheckBytes (256 KiB) since its last look (#unchecked, content-store.ts:318), and #unchecked
// starts at 0 in every opener. Short-lived processes that each put less than 256 KiB (a build tool
// run per step, as examples/build-cache.ts is) never look: the budget and the 85% table limit are
// never checked, and nothing rotates. Expected: the primary stays within its budget (12 MiB here)
// give or take 256 KiB per writer. Observed: 100 openers x 60 puts of 4,000 bytes leave one
// generation of ~24 MiB; in a probe 300 such openers left v1.0 at 71 MiB in a 32 MiB store (its
// 64 MiB pool full, then files), never rotated.
test("many short-lived openers that each put under 256 KiB still keep the primary within its budget", () => {
  const directory = join(root, "short-lived");
  let index = 0;
  for (let run = 0; run < 100; run++) {
    using store = ContentStore.open(directory, { maxBytes });
    for (let put = 0; put < 60; put++) store.put(objectBytes(index++, 4000));
  }
  using store = ContentStore.open(directory, { maxBytes });
  expect(primaryOf(store).storageBytes).toBeLessThanOrEqual(budgetBytes + 2 ** 20);
}, 120_000);
