// Review of lib/store (branch review-store), area: what a rotation does to an object and the
// entries naming it. Each test asserts what docs/store.md promises and fails on main at b70d492.
// Branch store-fix-rotation added the broken-variant companions (each passing only because its
// variant breaks what the test beside it checks) and the contested action key across a rotation.
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";
import { storeTestHooks, withBrokenVariant } from "../../../lib/store/testing.ts";
import { tempDirectory } from "../../support/temp.ts";
import { maxBytes, objectOnlyUpstreamWithPrimaryAtBudget, primaryOf, putUntilRotation } from "./support.ts";

const root = tempDirectory("review3-rotation-");
let count = 0;
const fresh = () => join(root, `store-${count++}`);
const node = new TextEncoder().encode("a tree over one object");

/**
 * Runs `action` (a put or actions.put of `store`) with another opener of the same directory (another
 * process, in effect) rotating at the point inside it where the refs (an action's result) have just
 * been copied into the generation the object (entry) is about to be written into; `during`, if
 * given, runs right after that rotation. Restores the hook after.
 */
function rotatingBetweenCopyAndWrite<T>(other: ContentStore, action: () => T, during?: () => void): T {
  let rotated = false;
  storeTestHooks.at = (point) => {
    if (point !== "refs-present" || rotated) return;
    rotated = true;
    putUntilRotation(other, 700_000_000);
    during?.();
  };
  try {
    return action();
  } finally {
    storeTestHooks.at = null;
  }
}

// FINDINGS.md #1. put(bytes, [ref]) copies the ref forward (#requireRefs -> #ensurePresent), and that
// copy may rotate; #storeHashed then writes the node into the *new* primary, while its ref went
// into the one before. Expected: a node is stored in a generation that holds its refs (or they
// are copied along), validate() finds nothing wrong, and the node stays readable while touched.
// Observed: validate() reports "object <node> refers to <ref>, which is not in the generation"
// on a store nothing damaged, and after one more rotation get(node) returns null: #copyForward
// looks for the refs only in the node's generation, so the node just put (and read) is lost.
// Harness (store-fix-rotation): a write now rotates before it writes, never after, so a put's own
// copy of a ref no longer rotates between the copy and the node's write; another opener's
// rotation still can (the same split, by another process), so the test makes one there
// (storeTestHooks.at "refs-present"). The broken variant splitFromRefs (the old order: the
// node goes into whatever is primary after the refs' copy) fails it.
function nodePutAcrossRotation() {
  const directory = fresh();
  using store = ContentStore.open(directory, { maxBytes });
  using other = ContentStore.open(directory, { maxBytes });
  const ref = objectOnlyUpstreamWithPrimaryAtBudget(store);
  const before = primaryOf(store).number;
  const id = rotatingBetweenCopyAndWrite(other, () => store.put(node, [ref]));
  expect(primaryOf(store).number).toBe(before + 1); // a rotation came between the ref's copy and the node's write, as set up
  const problems = store.validate().problems;
  const readBack = store.get(id); // touched right after its put
  putUntilRotation(store, 710_000_000);
  return { ref, readBack, problems, refsAfterOneRotation: store.get(id)?.refs ?? null };
}

test("a node put while copying its ref forward rotates is stored without its ref: validate reports it, and get(node) is null after one rotation", () => {
  const { ref, readBack, problems, refsAfterOneRotation } = nodePutAcrossRotation();
  expect(readBack).not.toBeNull();
  expect({ problems, refsAfterOneRotation }).toEqual({ problems: [], refsAfterOneRotation: [ref] });
});

test("broken variant (splitFromRefs): a node written into the primary after its ref's copy is split from its ref", () => {
  const { problems, refsAfterOneRotation } = withBrokenVariant("splitFromRefs", nodePutAcrossRotation);
  expect(problems.length).toBe(1);
  expect(problems[0]).toContain("which is not in the generation");
  expect(refsAfterOneRotation).toBeNull();
});

// FINDINGS.md #1, through the action cache. actions.put(key, id) copies `id` forward (#ensurePresent),
// which may rotate, then inserts the entry into the new primary (action-cache.ts #putHashed,
// `generation = this.#store.current()`): the entry and its object are in different generations.
// Expected: validate() clean, so validateIfNeeded keeps the store. Observed: validate() reports
// "an action entry maps to <id>, which is not in the generation", and validateIfNeeded moves
// every generation aside (outcome "recovered"): the whole cache is thrown away after a normal put.
// Harness (store-fix-rotation): as above, the rotation between the object's copy and the entry's
// insert is another opener's; the broken variant splitFromRefs fails it.
function actionPutAcrossRotation() {
  const directory = fresh();
  const store = ContentStore.open(directory, { maxBytes });
  const other = ContentStore.open(directory, { maxBytes });
  const id = objectOnlyUpstreamWithPrimaryAtBudget(store);
  const before = primaryOf(store).number;
  rotatingBetweenCopyAndWrite(other, () => store.actions.put("compile main.c", id));
  expect(primaryOf(store).number).toBe(before + 1); // a rotation came between the object's copy and the entry's insert
  const problems = store.validate().problems;
  const answer = store.actions.get("compile main.c");
  other.close();
  store.close();
  const outcome = ContentStore.validateIfNeeded(directory, { force: true }).outcome;
  return { id, answer, problems, outcome, moved: readdirSync(directory).filter((name) => name.startsWith("corrupt.")) };
}

test("an action put whose object's copy rotates is not reported as damage, and validateIfNeeded keeps the store", () => {
  const { id, answer, ...result } = actionPutAcrossRotation();
  expect(answer).toBe(id);
  expect(result).toEqual({
    problems: [],
    outcome: "valid",
    moved: [],
  });
});

test("broken variant (splitFromRefs): an action entry inserted into the primary after its object's copy is split from it", () => {
  const { problems, outcome } = withBrokenVariant("splitFromRefs", actionPutAcrossRotation);
  expect(problems.length).toBe(1);
  expect(problems[0]).toContain("an action entry maps to");
  expect(outcome).toBe("recovered");
});

// FINDINGS.md, suspected: two winners for one action key across a rotation. Process A records
// K -> X into v1.N while B, having rotated, did not find it there (not inserted yet) and
// recorded K -> Y in v1.N+1: both acknowledged. Made certain here with the hook: B rotates and
// puts K -> Y between A's copy of X and A's insert. Expected: a put that returns normally is the
// answer every process reads (else it throws ERR_CAS_POISONED), and both openers agree. The broken
// variant noRecheckAfterRecord (no second look at the flag after the insert) acknowledges X while
// everyone reads Y.
function contestedAcrossRotation() {
  const directory = fresh();
  using store = ContentStore.open(directory, { maxBytes });
  using other = ContentStore.open(directory, { maxBytes });
  const mine = store.put(new TextEncoder().encode("result X"));
  const theirs = other.put(new TextEncoder().encode("result Y"));
  let outcome = "acknowledged";
  try {
    rotatingBetweenCopyAndWrite(
      other,
      () => store.actions.put("contested", mine),
      () => other.actions.put("contested", theirs),
    );
  } catch (error) {
    outcome = (error as { code?: string }).code ?? String(error);
  }
  const answers = [store.actions.get("contested"), other.actions.get("contested")];
  return { outcome, answers, mine, theirs };
}

test("an action put racing another process's rotation and put of the same key never leaves two acknowledged winners", () => {
  const { outcome, answers, mine, theirs } = contestedAcrossRotation();
  expect(answers[0]).toBe(answers[1]!);
  if (outcome === "acknowledged") expect(answers[0]).toBe(mine);
  else expect({ outcome, answer: answers[0] }).toEqual({ outcome: "ERR_CAS_POISONED", answer: theirs });
});

test("broken variant (noRecheckAfterRecord): both puts of the contested key are acknowledged, and one is not what anyone reads", () => {
  const { outcome, answers, theirs } = withBrokenVariant("noRecheckAfterRecord", contestedAcrossRotation);
  expect({ outcome, answers }).toEqual({ outcome: "acknowledged", answers: [theirs, theirs] });
});

// FINDINGS.md #4. put() checks `bytes` (requireBytes), then follows other processes' rotations
// (this.#current()), and only then hashes and copies `bytes`. When `bytes` is a view this store
// handed out (view(), or data of a subarray of one) over a generation that this very follow lets
// go, the follow detaches it in the middle of the put: it is hashed as 0 bytes. Expected: put
// stores the bytes it was given (alive when it was called) and returns their id, or throws a
// clear error; never another object's id. Observed: with the empty object already in the
// primary, put returns e3b0c442... (the SHA-256 of nothing) for 26 bytes of content; without
// it, a TypeError ("Underlying ArrayBuffer has been detached") out of writePoolRecord after the
// pool space was allocated. actions.put/get with a Uint8Array key hash it after the follow too.
test("put of a live view is stored under the view's id even when the put's own follow lets the view's generation go", () => {
  const directory = fresh();
  using store = ContentStore.open(directory, { maxBytes });
  using other = ContentStore.open(directory, { maxBytes }); // another process, in effect: its own opener
  const content = new TextEncoder().encode("bytes worth quoting in a new object");
  const id = store.put(content);
  const view = store.view(id)!;
  const absent = "0".repeat(64);
  putUntilRotation(other, 800_000_000);
  store.has(absent); // follows once: the view's generation stays open (the upstream)
  putUntilRotation(other, 810_000_000);
  putUntilRotation(other, 820_000_000);
  store.has(absent); // follows again: the view's generation is kept as "retained" until the next follow
  putUntilRotation(other, 830_000_000);
  other.put(new Uint8Array(0));
  expect(view.length).toBe(content.length); // alive when put is called
  let returned: string;
  try {
    returned = store.put(view);
  } catch (error) {
    returned = `threw ${String(error)}`;
  }
  expect(returned).toBe(id);
});
