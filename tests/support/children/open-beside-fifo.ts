/**
 * One open (or read) of something where a FIFO stands in for a file: prints
 * "ok" or "threw CODE". A hang is the parent's to see (it kills us after a
 * while), so that a regression costs one child, not the test runner.
 *
 *   bun open-beside-fifo.ts store-read-only DIR       ContentStore.openReadOnly
 *   bun open-beside-fifo.ts store-writer DIR          ContentStore.open
 *   bun open-beside-fifo.ts store-get DIR ID          openReadOnly, then get(ID)
 *   bun open-beside-fifo.ts validate-if-needed DIR    ContentStore.validateIfNeeded
 *   bun open-beside-fifo.ts trie-create PATH          OnDiskTrieRawHashMap.create
 */
import { ContentStore, OnDiskTrieRawHashMap } from "../../../lib/index.ts";

const [action, path, id] = process.argv.slice(2) as [string, string, string | undefined];
try {
  if (action === "store-read-only") ContentStore.openReadOnly(path).close();
  else if (action === "store-writer") ContentStore.open(path).close();
  else if (action === "store-get") {
    using store = ContentStore.openReadOnly(path);
    store.get(id!);
  } else if (action === "validate-if-needed") ContentStore.validateIfNeeded(path, { force: true });
  else if (action === "trie-create") OnDiskTrieRawHashMap.create(path, { name: "fifo", hashBits: 64, dataBytes: 8, capacity: 1 << 20 }).close();
  else throw new Error(`unknown action ${action}`);
  process.stdout.write("ok\n");
} catch (error) {
  process.stdout.write(`threw ${(error as { code?: string }).code ?? (error as Error).name}\n`);
}
