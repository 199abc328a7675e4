// From a new user's trial (TRIAL2 #2, #3, #8, #9): large objects are written in
// pieces a write call can take; action keys that UTF-8 would merge are refused;
// has() answers false for a large object whose file is gone; the store makes
// only its own directory, and never makes it again once it is removed.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ArenaError, ContentStore } from "../../lib/index.ts";
import { storeTestHooks } from "../../lib/store/testing.ts";
import { tempDirectory } from "../support/temp.ts";
import { objectBytes, sha256Hex } from "./support.ts";

const root = tempDirectory("store-safety-");
let directories = 0;
function fresh(): string {
  directories += 1;
  return join(root, `store-${directories}`);
}

function errorOf(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error("no error");
}

describe("large objects are written in pieces (TRIAL2 #2)", () => {
  // A real 2 GiB object needs 4+ GiB of memory; the suite lowers the piece size
  // instead (storeTestHooks.writeChunkBytes), so each file below takes many writes.
  test("objects many times the piece size are stored whole, leaves and nodes", () => {
    const directory = fresh();
    const saved = storeTestHooks.writeChunkBytes;
    storeTestHooks.writeChunkBytes = 4093; // odd, so no piece ends on a part's boundary
    try {
      using store = ContentStore.open(directory);
      const leafBytes = objectBytes(1, 300_001);
      const leaf = store.put(leafBytes);
      const nodeBytes = objectBytes(2, 100_003);
      const node = store.put(nodeBytes, [leaf]);
      expect(statSync(join(directory, "v1.0", `leaf.${leaf}`)).size).toBe(300_001);
      expect(store.get(leaf)!.data).toEqual(leafBytes);
      expect(store.get(node)).toEqual({ data: nodeBytes, refs: [leaf] });
      expect(store.validate({ deep: true }).problems).toEqual([]);
    } finally {
      storeTestHooks.writeChunkBytes = saved;
    }
  });

  // Opt in (MFA_TEST_HUGE=1): 2.1 GiB in memory twice, and on disk.
  test.skipIf(process.env.MFA_TEST_HUGE !== "1")("a put of 2.1 GiB stores it, and get returns it", () => {
    const directory = fresh();
    const bytes = new Uint8Array(2.1 * 2 ** 30);
    for (let offset = 0; offset < bytes.length; offset += 2 ** 20) bytes[offset] = (offset / 2 ** 20) & 0xff;
    using store = ContentStore.open(directory);
    const id = store.put(bytes);
    expect(id).toBe(sha256Hex(bytes));
    const read = store.get(id)!.data;
    expect(read.length).toBe(bytes.length);
    expect(sha256Hex(read)).toBe(id);
  }, 600_000);
});

describe("action keys UTF-8 cannot encode are refused (TRIAL2 #3)", () => {
  test("a string with an unpaired surrogate is a RangeError naming key, for put and get", () => {
    using store = ContentStore.open(fresh());
    const id = store.put(new Uint8Array([1]));
    for (const key of ["\uD800", "\uDC00", "a\uD83Db", "ok\uDE00"]) {
      const put = errorOf(() => store.actions.put(key, id));
      expect(put).toBeInstanceOf(RangeError);
      expect(put.message).toStartWith("key ");
      expect(errorOf(() => store.actions.get(key))).toBeInstanceOf(RangeError);
    }
    // Nothing was recorded under the key they would have collapsed to.
    expect(store.actions.get("\uFFFD")).toBeNull();
    // Well-formed keys, a surrogate pair among them, and U+FFFD itself work and stay distinct.
    store.actions.put("\uD83D\uDE00", id);
    const other = store.put(new Uint8Array([2]));
    store.actions.put("\uFFFD", other);
    expect(store.actions.get("\uD83D\uDE00")).toBe(id);
    expect(store.actions.get("\uFFFD")).toBe(other);
  });
});

describe("has() looks at a large object's file (TRIAL2 #8)", () => {
  test("in the newest generation: false once the file is gone; a put repairs it", () => {
    const directory = fresh();
    using store = ContentStore.open(directory);
    const bytes = objectBytes(3, 100_000);
    const id = store.put(bytes);
    const small = store.put(objectBytes(4, 100));
    expect(store.has(id)).toBe(true);
    rmSync(join(directory, "v1.0", `leaf.${id}`));
    expect(store.has(id)).toBe(false);
    expect(store.has(small)).toBe(true);
    expect((errorOf(() => store.get(id)) as ArenaError).code).toBe("ERR_CAS_CORRUPT");
    expect(store.put(bytes)).toBe(id);
    expect(store.has(id)).toBe(true);
    expect(store.get(id)!.data).toEqual(bytes);
  });

  test("in the older generation: false, not a copy-forward failure", () => {
    const directory = fresh();
    let id: string;
    {
      using store = ContentStore.open(directory);
      id = store.put(objectBytes(5, 100_000));
    }
    mkdirSync(join(directory, "v1.1")); // as a rotation makes it: v1.0 is now the upstream
    rmSync(join(directory, "v1.0", `leaf.${id}`));
    {
      using reader = ContentStore.openReadOnly(directory);
      expect(reader.has(id)).toBe(false);
    }
    using store = ContentStore.open(directory);
    expect(store.has(id)).toBe(false);
  });
});

describe("the store makes only its own directory (TRIAL2 #9)", () => {
  test("a missing parent is ENOENT saying so, and nothing is made", () => {
    const parent = join(root, "no-such-parent");
    for (const open of [() => ContentStore.open(join(parent, "dir")), () => ContentStore.validateIfNeeded(join(parent, "dir"))]) {
      const error = errorOf(open) as ArenaError;
      expect(error).toBeInstanceOf(ArenaError);
      expect(error.code).toBe("ENOENT");
      expect(error.message).toContain("parent is missing");
    }
    expect(existsSync(parent)).toBe(false);
  });

  test("a store whose directory is removed while open fails at its next rotation, and is not made again", () => {
    const directory = fresh();
    const store = ContentStore.open(directory, { maxBytes: 32 * 2 ** 20 });
    try {
      store.put(objectBytes(6, 100));
      rmSync(directory, { recursive: true });
      // Pool objects go on into the mapped (unlinked) files until the budget (12 MiB) asks for a rotation.
      let error: unknown = null;
      for (let index = 0; index < 400 && error === null; index++) {
        try {
          store.put(objectBytes(1000 + index, 60_000));
        } catch (caught) {
          error = caught;
        }
      }
      expect(error).toBeInstanceOf(ArenaError);
      expect((error as ArenaError).code).toBe("ENOENT");
      expect((error as ArenaError).message).toContain("is gone");
      expect(existsSync(directory)).toBe(false);
    } finally {
      store.close();
    }
    expect(existsSync(directory)).toBe(false);
    expect(readdirSync(root)).not.toContain(`store-${directories}`);
  });
});
