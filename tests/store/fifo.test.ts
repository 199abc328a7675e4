/**
 * A FIFO where a store expects a regular file: every open and read answers at
 * once, never waits (review finding 2 of issue 13 item 2).
 *
 * open(2) of a FIFO for reading blocks until a writer opens it, that is forever.
 * ContentStore.openReadOnly opened the root `lock` and each generation's `lock`
 * that way, so one mkfifo by a store's owner hung every reader (and a reader is
 * exactly who does not own the store). The same fault stood wherever a store
 * opens a file it did not just make: a large-object file a reader gets, the
 * validation marker (opened O_RDWR, which does not block, but then read, which
 * does). Every such file is now opened O_NONBLOCK and refused unless fstat says
 * it is a regular file (lib/arena/regular-file.ts), as the arena refuses a
 * non-regular PATH.shared. Each open runs in a child killed after 20 s, which
 * takes a fraction of a second once fixed.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../lib/index.ts";
import { runIsolatedChild } from "../support/isolated-runs.ts";
import { tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("store-fifo-");
let stores = 0;

/** A closed store with one small and one large object; `name` (relative, or a function of the folder) replaced by a FIFO. */
function storeWithFifoAt(name: string | ((root: string) => string)): { root: string; largeId: string } {
  const root = join(directory, `store-${++stores}`);
  let largeId: string;
  {
    using store = ContentStore.open(root);
    store.put(new Uint8Array([1, 2, 3]));
    largeId = store.put(new Uint8Array(100_000).fill(7));
  }
  const path = join(root, typeof name === "string" ? name : name(root));
  rmSync(path, { force: true });
  const made = Bun.spawnSync(["mkfifo", path]);
  if (made.exitCode !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString()}`);
  return { root, largeId };
}

async function outcome(...args: string[]): Promise<string> {
  const result = await runIsolatedChild("open-beside-fifo.ts", args, 20_000);
  return result.timedOut ? "hung (killed after 20 s)" : result.stdout.trim();
}

const largeObjectFile = (root: string) => join("v1.0", readdirSync(join(root, "v1.0")).find((name) => name.startsWith("leaf."))!);

describe.skipIf(process.platform === "win32")("a FIFO where a store expects a regular file (review finding 2)", () => {
  for (const name of ["lock", join("v1.0", "lock")]) {
    test(`openReadOnly with a FIFO at ${name}: ERR_ARENA_NOT_A_FILE at once`, async () => {
      expect(await outcome("store-read-only", storeWithFifoAt(name).root)).toBe("threw ERR_ARENA_NOT_A_FILE");
    }, 40_000);
    test(`a writer's open with a FIFO at ${name}: refused the same way`, async () => {
      expect(await outcome("store-writer", storeWithFifoAt(name).root)).toBe("threw ERR_ARENA_NOT_A_FILE");
    }, 40_000);
  }

  test("a reader's get of a large object whose file is a FIFO: ERR_ARENA_NOT_A_FILE at once", async () => {
    const { root, largeId } = storeWithFifoAt(largeObjectFile);
    expect(await outcome("store-get", root, largeId)).toBe("threw ERR_ARENA_NOT_A_FILE");
  }, 40_000);

  test("validateIfNeeded with a FIFO at its marker (v1.validation): ERR_ARENA_NOT_A_FILE at once", async () => {
    const { root } = storeWithFifoAt(() => "v1.validation");
    expect(await outcome("validate-if-needed", root)).toBe("threw ERR_ARENA_NOT_A_FILE");
  }, 40_000);
});
