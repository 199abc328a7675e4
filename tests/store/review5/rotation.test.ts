// Review 5 of lib/store (branch review-store2), area: rotation with the check before a write.
// Two openers of one store in the test process, made to rotate by turns: deterministic, nothing
// here can crash (no native fault is involved), so no child process.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";
import { createTempDirectory, removeDirectory } from "../../support/temp.ts";
import { objectBytes } from "../support.ts";

const maxBytes = 32 * 2 ** 20;
const budgetBytes = maxBytes / 2 - 4 * 2 ** 20;
const root = createTempDirectory("review5-rotation-");
afterAll(() => removeDirectory(root));

const primaryOf = (store: ContentStore) => store.stats().generations[0]!;

/** `other` puts until its primary changes (one rotation). */
function rotateOnce(other: ContentStore, next: { index: number }): void {
  const start = primaryOf(other).number;
  while (primaryOf(other).number === start) other.put(objectBytes(next.index++, 30_000));
}

/** `other` fills its primary just past the budget without rotating (its next look at the budget will). */
function fillPastBudget(other: ContentStore, next: { index: number }): void {
  const start = primaryOf(other).number;
  while (primaryOf(other).storageBytes <= budgetBytes) other.put(objectBytes(next.index++, 30_000));
  if (primaryOf(other).number !== start) throw new Error("setup: the filler rotated");
}

/**
 * A store opener `reader` that holds object `id` only in a generation it retains from before its
 * last follow (it put `id` into v1.0, another opener rotated twice, and one call made `reader`
 * follow to v1.2/v1.1), with v1.2 past its budget and `reader` having written 256 KiB since it
 * last looked at the budget (so its next write looks, and rotates).
 */
function objectOnlyInRetained(name: string) {
  const directory = join(root, name);
  const reader = ContentStore.open(directory, { maxBytes });
  const other = ContentStore.open(directory, { maxBytes });
  const id = reader.put(objectBytes(7, 1000));
  // 270,000 bytes more, in v1.0: past the 256 KiB after which reader's next write looks at the budget.
  for (let index = 0; index < 9; index++) reader.put(objectBytes(100 + index, 30_000));
  const next = { index: 1_000 };
  rotateOnce(other, next);
  rotateOnce(other, next);
  fillPastBudget(other, next);
  reader.has("0".repeat(64)); // a read (no write): reader: reader follows to [v1.2, v1.1], retaining v1.0
  const roles = reader.stats().generations.map((generation) => `${generation.number}:${generation.role}`);
  if (roles.join() !== "2:primary,1:upstream,0:retained") throw new Error(`setup: ${roles.join()}`);
  return { reader, other, id };
}

// FINDINGS.md #2. A read of an object that only a generation this process retains holds
// (docs/store.md: "an object a process touched is within that process's reach until it has
// followed two more rotations without touching it again"; the read touches it) finds it
// (#readOlder: #findOlder), then takes the primary for its copy forward (#primaryForWrite). That
// looks at the budget before the write, and rotates: #follow lets the retained generations go
// (closed), the one holding the object among them. #readOlder then looks again (#findOlder), finds
// nothing, and get returns null; has (#ensurePresent -> #copyInto) answers false. Before the
// check moved in front of the write, the copy was made first and the rotation came after it.
// Expected: get returns the object (copied into the new primary, or at worst read from where it
// was found), has is true. Observed: get null, has false, for an object the store held open when
// the call began (and that openReadOnly, which copies nothing, would return).
test("get of an object held only in a retained generation returns it even when the read's copy forward rotates first", () => {
  const { reader, other, id } = objectOnlyInRetained("get");
  const found = reader.get(id);
  reader.close();
  other.close();
  expect(found?.data).toEqual(objectBytes(7, 1000));
});

test("has of an object held only in a retained generation is true even when the read's copy forward rotates first", () => {
  const { reader, other, id } = objectOnlyInRetained("has");
  const present = reader.has(id);
  reader.close();
  other.close();
  expect(present).toBe(true);
});

// FINDINGS.md #2, the write side: put(node, [id]) takes the primary for its write first
// (#storeHashed -> #primaryForWrite, which rotates and lets the retained generation holding `id`
// go), then copies its refs into it (#requireRefsIn -> #copyInto -> #findOlder: gone). Expected:
// the node is stored with its ref (the ref was in a generation this process held when put was
// called). Observed: ArenaError ERR_CAS_MISSING_REF "refs[0] ... is not in the store".
test("put of a node whose ref is held only in a retained generation stores it even when the put rotates first", () => {
  const { reader, other, id } = objectOnlyInRetained("put");
  let outcome = "stored";
  try {
    reader.put(objectBytes(9, 100), [id]);
  } catch (error) {
    outcome = (error as { code?: string }).code ?? String(error);
  }
  reader.close();
  other.close();
  expect(outcome).toBe("stored");
});

// FINDINGS.md #2, the action cache: actions.put(key, id) takes the primary first
// (ActionCache.#record -> primaryForWrite, which rotates and lets the retained generation holding
// `id` go), then copies the action's object into it (copyInto: gone). Expected: the entry is
// recorded. Observed: ArenaError ERR_CAS_MISSING_REF "the action's result ... is not in the store".
test("actions.put of an id held only in a retained generation records it even when the entry's write rotates first", () => {
  const { reader, other, id } = objectOnlyInRetained("action");
  let outcome = "recorded";
  try {
    reader.actions.put("compile a.c", id);
  } catch (error) {
    outcome = (error as { code?: string }).code ?? String(error);
  }
  reader.close();
  other.close();
  expect(outcome).toBe("recorded");
});
