/**
 * create() of a trie database at a FIFO answers at once (found with review
 * finding 2 of issue 13 item 2, a FIFO where a store's lock file should be).
 * The trie's pre-open check read the file with openSync(path, "r"), which blocks
 * on a FIFO until a writer opens it: create() hung before the arena (which opens
 * O_NONBLOCK and refuses non-regular files) ever saw the path. In a child killed
 * after 20 s, which takes a fraction of a second once fixed.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { runIsolatedChild } from "../support/isolated-runs.ts";
import { tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("trie-fifo-");

test.skipIf(process.platform === "win32")("OnDiskTrieRawHashMap.create at a FIFO: ERR_ARENA_NOT_A_FILE at once", async () => {
  const path = join(directory, "fifo.db");
  expect(Bun.spawnSync(["mkfifo", path]).exitCode).toBe(0);
  const result = await runIsolatedChild("open-beside-fifo.ts", ["trie-create", path], 20_000);
  expect(result.timedOut ? "hung (killed after 20 s)" : result.stdout.trim()).toBe("threw ERR_ARENA_NOT_A_FILE");
}, 40_000);
