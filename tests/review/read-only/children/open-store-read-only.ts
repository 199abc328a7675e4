/**
 * Child of store-lock-fifo.test.ts: ContentStore.openReadOnly(DIRECTORY), then
 * prints "opened" or "threw CODE". A hang is the parent's to see (it kills us).
 */
import { ContentStore } from "../../../../lib/index.ts";

try {
  using store = ContentStore.openReadOnly(process.argv[2]!);
  process.stdout.write(`opened ${store.readOnly}\n`);
} catch (error) {
  process.stdout.write(`threw ${(error as { code?: string }).code ?? (error as Error).name}\n`);
}
