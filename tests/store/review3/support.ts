// Shared by the review3 store tests (branch review-store): stores set up on the edge of a rotation.
import type { ContentStore } from "../../../lib/index.ts";
import { objectBytes } from "../support.ts";

export const maxBytes = 32 * 2 ** 20;
/** The primary's budget for this maxBytes (content-store.ts: maxBytes / 2 - 4 MiB of slack). */
export const budgetBytes = maxBytes / 2 - 4 * 2 ** 20;

export function primaryOf(store: ContentStore) {
  return store.stats().generations[0]!;
}

/** Puts distinct objects of `size` bytes until the primary generation changes. */
export function putUntilRotation(store: ContentStore, firstIndex: number, size = 32_000): number {
  const start = primaryOf(store).number;
  let index = firstIndex;
  while (primaryOf(store).number === start) store.put(objectBytes(index++, size));
  return index;
}

/**
 * Leaves `store` with an object of `size` bytes (returned) that only the upstream
 * generation holds, and a primary just under its budget: copying that object
 * forward takes the primary past its budget, so the copy itself rotates.
 */
export function objectOnlyUpstreamWithPrimaryAtBudget(store: ContentStore, size = 60_000): string {
  const id = store.put(objectBytes(500_000_000, size));
  let index = putUntilRotation(store, 600_000_000);
  while (primaryOf(store).storageBytes < budgetBytes - size + 10_000) store.put(objectBytes(index++, 1000));
  if (primaryOf(store).storageBytes > budgetBytes) throw new Error("setup: the primary passed its budget before the copy");
  return id;
}
