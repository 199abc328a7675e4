/**
 * Child of tests/store/read-only-rotation.test.ts: a read-only store user beside
 * a writer that rotates. For MS milliseconds it opens the store read-only, calls
 * has and get (each follows a rotation), and reopens every 20 calls. Prints one
 * JSON line: how many opens and calls succeeded and every error by code and
 * message. A healthy store must give no error.
 *
 *   bun read-only-store-loop.ts DIRECTORY MS [noFallbackForReaders]
 *
 * With the broken variant it stops at its first error (the control needs one).
 */
import { ContentStore } from "../../../lib/index.ts";
import { useBrokenVariantForTests } from "../../../lib/store/testing.ts";

const [directory, msText, variant] = process.argv.slice(2) as [string, string, string | undefined];
const broken = variant === "noFallbackForReaders";
if (broken) useBrokenVariantForTests("noFallbackForReaders");
const errors: Record<string, number> = {};
const until = performance.now() + Number(msText);
let opens = 0;
let calls = 0;
let store: ContentStore | null = null;
const probe = "0".repeat(64);
while (performance.now() < until && !(broken && Object.keys(errors).length > 0)) {
  try {
    if (store === null) {
      store = ContentStore.openReadOnly(directory);
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
    const key = `${(error as { code?: string }).code ?? (error as Error).name}: ${String((error as Error).message).replaceAll(directory, "DIR").slice(0, 160)}`;
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
