// Reproductions of content-store defects found in review (see FINDINGS.md here).
// Each test FAILS on the current code; its name states the defect.
import { describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ArenaError } from "../../../lib/common/errors.ts";
import { ContentStore } from "../../../lib/index.ts";
import { storeTestHooks } from "../../../lib/store/testing.ts";
import { tempDirectory } from "../../support/temp.ts";

const root = tempDirectory("review-store-");
let counter = 0;
const freshDirectory = () => {
  const directory = join(root, `s${counter++}`);
  mkdirSync(directory);
  return directory;
};
const text = (value: string) => new TextEncoder().encode(value);

/** Puts distinct 1 MiB objects until the store starts generation `number`. */
function rotateTo(store: ContentStore, number: number): void {
  const big = new Uint8Array(2 ** 20);
  for (let index = 0; index < 100 && store.stats().generations[0]!.number < number; index++) {
    new DataView(big.buffer).setUint32(0, index + counter * 1000);
    store.put(big);
  }
  expect(store.stats().generations[0]!.number).toBe(number);
}

function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return null;
}

describe("store review", () => {
  test("a valid ref chain deeper than 10,000 is reported ERR_CAS_CORRUPT by get after one rotation", () => {
    const store = ContentStore.open(freshDirectory(), { maxBytes: 32 * 2 ** 20 });
    let head = store.put(text("leaf"));
    for (let index = 0; index < 10_050; index++) head = store.put(text(`node ${index}`), [head]);
    rotateTo(store, 1);
    expect(store.validate().problems).toEqual([]); // the store is valid ...
    expect(thrown(() => store.get(head))).toBeNull(); // ... but get says ERR_CAS_CORRUPT
    store.close();
  }, 120_000);

  test("a deleted large-object file is never repaired: has() stays true and put() of the same bytes leaves get() failing", () => {
    const directory = freshDirectory();
    const store = ContentStore.open(directory);
    const bytes = new Uint8Array(100_000).fill(1);
    const id = store.put(bytes);
    rmSync(join(directory, "v1.0", `leaf.${id}`));
    expect(store.put(bytes)).toBe(id); // put reports success ...
    expect(thrown(() => store.get(id))).toBeNull(); // ... yet get still throws ERR_CAS_CORRUPT: the file is gone
    store.close();
  });

  test("a foreign file named like a generation (v1.5) makes open throw a plain ENOTDIR Error, not an ArenaError", () => {
    const directory = freshDirectory();
    writeFileSync(join(directory, "v1.5"), "not a generation");
    const error = thrown(() => ContentStore.open(directory).close());
    expect(error).toBeInstanceOf(ArenaError);
  });

  test("validateIfNeeded cannot recover a store whose v1.N is a file: it throws instead of moving it aside", () => {
    const directory = freshDirectory();
    writeFileSync(join(directory, "v1.5"), "not a generation");
    const outcome = thrown(() => ContentStore.validateIfNeeded(directory, { force: true }));
    expect(outcome).toBeNull();
    expect(thrown(() => ContentStore.open(directory).close())).toBeNull();
  });

  test("opening a store at a path that is a regular file throws a plain EEXIST Error, not an ArenaError", () => {
    const directory = freshDirectory();
    writeFileSync(join(directory, "file"), "x");
    expect(thrown(() => ContentStore.open(join(directory, "file")))).toBeInstanceOf(ArenaError);
  });

  test("a generation numbered with 15 digits stops rotation silently: the store grows past maxBytes unbounded", () => {
    const directory = freshDirectory();
    mkdirSync(join(directory, "v1.999999999999999"));
    const store = ContentStore.open(directory, { maxBytes: 32 * 2 ** 20 });
    const big = new Uint8Array(2 ** 20);
    for (let index = 0; index < 48; index++) {
      new DataView(big.buffer).setUint32(0, index);
      store.put(big);
    }
    // v1.1000000000000000 was made but listGenerations' /\d{1,15}/ never sees it.
    expect(store.stats().storageBytes).toBeLessThan(40 * 2 ** 20);
    store.close();
  }, 60_000);

  test("the CLI answers 'internal error' (not a store error) on a directory whose v1.N is a file", () => {
    const directory = freshDirectory();
    writeFileSync(join(directory, "v1.5"), "not a generation");
    const cli = join(import.meta.dir, "../../../bin/mapped-file-arena.ts");
    const run = Bun.spawnSync([process.execPath, cli, "cas", "validate", directory], { timeout: 30_000 });
    expect(run.stderr.toString()).not.toContain("internal error");
  }, 60_000);

  test("a rotator killed between mkdir v1.N+1 and marking v1.N superseded splits the store: an open process never sees new puts", () => {
    const directory = freshDirectory();
    const old = ContentStore.open(directory, { maxBytes: 32 * 2 ** 20 });
    old.put(text("before"));
    // The state on disk after SIGKILL between generations.ts:66 (mkdir) and :67 (markSuperseded).
    mkdirSync(join(directory, "v1.1"));
    const fresh = ContentStore.open(directory, { maxBytes: 32 * 2 ** 20 });
    const id = fresh.put(text("after"));
    expect(old.get(id)).not.toBeNull(); // same primary for a fixed store: v1.1 is the newest
    rotateTo(fresh, 3); // even two more rotations do not make the old process follow
    expect(old.get(fresh.put(text("later")))).not.toBeNull();
    old.close();
    fresh.close();
  }, 60_000);

  /** A closed store with a few objects, then `damage` applied to its generation v1.0. */
  function damagedStore(damage: (generation: string) => void): string {
    const directory = freshDirectory();
    const store = ContentStore.open(directory);
    for (let index = 0; index < 20; index++) store.put(text(`object ${index}`));
    store.close();
    damage(join(directory, "v1.0"));
    return directory;
  }

  test("validateIfNeeded cannot recover an index file with a garbage header: ERR_ARENA_TOO_LARGE escapes, the store stays unusable", () => {
    const directory = damagedStore((generation) => writeFileSync(join(generation, "index.v1"), "x".repeat(100)));
    const outcome = thrown(() => expect(ContentStore.validateIfNeeded(directory, { force: true }).outcome).toBe("recovered"));
    expect(outcome).toBeNull();
    expect(thrown(() => ContentStore.open(directory).close())).toBeNull();
  });

  test("validateIfNeeded cannot recover a generation whose lock (or index) is a directory: a raw EISDIR Error escapes", () => {
    const directory = damagedStore((generation) => {
      rmSync(join(generation, "lock"));
      mkdirSync(join(generation, "lock"));
    });
    expect(thrown(() => ContentStore.validateIfNeeded(directory, { force: true }))).toBeNull();
    expect(thrown(() => ContentStore.open(directory).close())).toBeNull();
  });

  test("an id returned by put is invisible to every other process when two rotations happen during the put", () => {
    const directory = freshDirectory();
    const writer = ContentStore.open(directory, { maxBytes: 32 * 2 ** 20 });
    const other = ContentStore.open(directory, { maxBytes: 32 * 2 ** 20 });
    let armed = true;
    // Between writing the bytes and publishing them (a large put takes long enough on a busy
    // machine), another process fills two generations; the hook makes the interleaving certain.
    storeTestHooks.at = (point) => {
      if (point !== "bytes-written" || !armed) return;
      armed = false;
      rotateTo(other, 2);
    };
    let id: string;
    try {
      id = writer.put(text("handed to the caller"));
    } finally {
      storeTestHooks.at = null;
    }
    // It went into v1.0, two behind the newest: a process opening now does not find it (the
    // writer would, and copying forward on its own get would then publish it; `other` only
    // would because it retains v1.0 until its next follow).
    const later = ContentStore.open(directory, { maxBytes: 32 * 2 ** 20 });
    expect(later.has(id)).toBe(true);
    later.close();
    writer.close();
    other.close();
  }, 60_000);
});
