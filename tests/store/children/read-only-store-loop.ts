/**
 * Child of tests/store/read-only-rotation.test.ts: a read-only store user beside
 * a writer that rotates. It opens the store read-only, calls has and get (each
 * follows a rotation), and reopens every 20 calls, until the writer has made
 * generation v1.GENERATIONS; then it makes DIRECTORY/stop (the writer stops)
 * and prints one JSON line: how many opens and calls succeeded, the newest
 * generation it saw, and every error by code and message. A healthy store must
 * give no error. No clock: the writer's progress ends it.
 *
 *   bun read-only-store-loop.ts DIRECTORY GENERATIONS [noFallbackForReaders]
 *
 * With the broken variant it stops at its first error (the control needs one).
 */
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";
import { useBrokenVariantForTests } from "../../../lib/store/testing.ts";

const [directory, generationsText, variant] = process.argv.slice(2) as [string, string, string | undefined];
const broken = variant === "noFallbackForReaders";
if (broken) useBrokenVariantForTests("noFallbackForReaders");
const errors: Record<string, number> = {};
let opens = 0;
let calls = 0;
let newest = 0;
let store: ContentStore | null = null;
const probe = "0".repeat(64);
const newestGeneration = () => Math.max(0, ...readdirSync(directory).map((name) => Number(/^v1\.(\d+)$/.exec(name)?.[1] ?? 0)));
while (newest < Number(generationsText) && !(broken && Object.keys(errors).length > 0)) {
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
      newest = newestGeneration();
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
    newest = newestGeneration();
  }
}
store?.close();
writeFileSync(join(directory, "stop"), "");
process.stdout.write(`${JSON.stringify({ opens, calls, newest, errors })}\n`);
