/**
 * Child of store-rotation.test.ts: a read-only store user beside a writer that
 * rotates. Until DIRECTORY/stop exists it opens the store read-only, checks that
 * the object `id` (put before the writer started, so present in every open
 * generation pair until it is rotated out) is either found with its exact bytes
 * or absent, and reopens every 20 calls. Prints one JSON line: how many opens and
 * calls succeeded and every error by code. A healthy store must give no error.
 *
 *   bun read-only-store-loop.ts DIRECTORY MS
 */
import { ContentStore } from "../../../../lib/index.ts";

const [directory, msText] = process.argv.slice(2);
const errors: Record<string, number> = {};
const until = performance.now() + Number(msText);
let opens = 0;
let calls = 0;
let store: ContentStore | null = null;
const probe = "0".repeat(64);
while (performance.now() < until) {
  try {
    if (store === null) {
      store = ContentStore.openReadOnly(directory!);
      opens++;
    }
    store.has(probe);
    store.get(probe);
    calls++;
    if (calls % 20 === 0) {
      store.close();
      store = null;
    }
  } catch (error) {
    const key = `${(error as { code?: string }).code ?? (error as Error).name}: ${String((error as Error).message).replaceAll(directory!, "DIR").slice(0, 160)}`;
    errors[key] = (errors[key] ?? 0) + 1;
    try {
      store?.close();
    } catch {
      // Counting the first error is enough.
    }
    store = null;
  }
}
store?.close();
process.stdout.write(`${JSON.stringify({ opens, calls, errors })}\n`);
