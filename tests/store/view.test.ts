// ContentStore.view: a zero-copy read of immutable content. What it returns, and
// what happens when a caller misuses it: keeps it past close() or past rotations,
// writes through it, transfers its buffer away. Every misuse runs in a child
// process (tests/store/children/view-child.ts), so a fault would fail the test,
// not kill the runner. The rotation case is shown failing on the broken variant
// that reopens every generation when it follows (the old behaviour: a view went
// empty at the first rotation after it was taken).
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ContentStore } from "../../lib/index.ts";
import { tempDirectory } from "../support/temp.ts";
import { objectBytes, runToEnd, sha256Hex, spawnStoreChild } from "./support.ts";

const root = tempDirectory("store-view-");

async function child(mode: string, name: string, broken = "none") {
  const result = await runToEnd(spawnStoreChild("view-child.ts", [mode, join(root, name), broken]), 120_000);
  if (result.exitCode !== 0) throw new Error(`view child ${mode} failed (${result.exitCode ?? result.signalCode}): ${result.stderr}`);
  return JSON.parse(result.stdout);
}

describe("ContentStore.view", () => {
  test("returns the object's bytes (a view of the pool; a copy for a file of its own), or null", () => {
    using store = ContentStore.open(join(root, "basic"));
    const small = objectBytes(1, 1000);
    const large = objectBytes(2, 100_000);
    const [smallId, largeId] = [store.put(small), store.put(large)];
    const node = store.put(objectBytes(3, 64), [smallId, largeId]);
    expect(Buffer.compare(store.view(smallId)!, small)).toBe(0);
    expect(Buffer.compare(store.view(largeId)!, large)).toBe(0);
    expect(Buffer.compare(store.view(node)!, objectBytes(3, 64))).toBe(0);
    expect(store.view(sha256Hex(objectBytes(4, 10)))).toBeNull();
    // Two views of one object share memory (the mapping); a large object's view is its own copy.
    const [first, second] = [store.view(smallId)!, store.view(smallId)!];
    expect(first.byteOffset).toBe(second.byteOffset);
    const largeView = store.view(largeId)!;
    largeView[0] = largeView[0]! ^ 0xff;
    expect(sha256Hex(store.get(largeId)!.data)).toBe(largeId);
    expect(() => store.view("not an id")).toThrow(RangeError);
  });

  test("an object only in the older generation is copied forward and viewed there", () => {
    using store = ContentStore.open(join(root, "forward"), { maxBytes: 32 * 2 ** 20 });
    const bytes = objectBytes(5, 3000);
    const id = store.put(bytes);
    for (let index = 10_000; store.stats().generations[0]!.number === 0; index++) store.put(objectBytes(index, 8192));
    expect(Buffer.compare(store.view(id)!, bytes)).toBe(0);
    expect(store.stats().generations[0]!.number).toBeGreaterThanOrEqual(1);
  });

  test("kept past close(): reads as length 0, a write is ignored, nothing faults, even as other stores reuse the addresses", async () => {
    const result = await child("after-close", "after-close");
    expect(result).toEqual({
      before: "valid",
      after: "detached",
      read: "undefined",
      writeIgnored: true,
      others: ["detached", "detached", "detached", "detached"],
      storedIntact: true,
    });
  });

  test("kept while the process follows rotations: valid through the first, then detached, never another object's bytes", async () => {
    const { states } = await child("after-rotation", "after-rotation");
    expect(states[0]).toBe("valid");
    expect(states[1]).toBe("valid"); // the first rotation followed: its generation is the upstream, still open
    expect(states).not.toContain("other");
    expect(states[states.length - 1]).toBe("detached"); // after close at the latest
    expect(states.slice(1, 5)).toContain("detached"); // let go once out of reach (by the third rotation)
  });

  test("broken variant: reopening generations on follow detaches a view at the first rotation", async () => {
    const { states } = await child("after-rotation", "after-rotation-broken", "reopenOnFollow");
    expect(states[1]).toBe("detached");
  });

  test("writing through a view changes the object for every process, and verifyOnRead and validate catch it; read-only: this process's page only", async () => {
    const result = await child("write-through", "write-through");
    expect(result).toEqual({ changedForAll: true, verifyCode: "ERR_CAS_CORRUPT", problems: 1, ownCopyChanged: true, fileIntact: true });
  });

  test("a view's buffer transferred away takes nothing the store needs: reads go on, close is safe", async () => {
    const result = await child("stolen", "stolen");
    expect(result).toEqual({ stolen: true, intact: 50, nonZeroAfterClose: 0 });
  });
});
