/**
 * For tests only; not exported from the package. Switches this process's tries
 * to a broken slot publication, so a test can show it fails without the
 * compare-and-swap (a test that cannot fail proves nothing).
 */
import { brokenTrieVariants, trieVariant, type BrokenTrieVariant } from "./broken-variants.ts";
import { slotPublish, type BrokenSlotPublish } from "./slot-publish.ts";

/**
 * "plain-store": publish a slot with a load, a comparison and a plain store
 * instead of one compare-and-swap, so two inserters can both see an empty slot
 * and the second store silently replaces the first record. null: the real thing.
 */
export function useBrokenSlotPublishForTests(kind: BrokenSlotPublish): void {
  if (kind !== null && kind !== "plain-store") throw new RangeError(`kind must be "plain-store" or null, got ${String(kind)}`);
  slotPublish.broken = kind;
}

/** Switches this process's tries and pools to one of the broken variants of broken-variants.ts (null: the real thing). */
export function useBrokenTrieForTests(kind: BrokenTrieVariant): void {
  if (!brokenTrieVariants.includes(kind)) throw new RangeError(`kind must be one of ${brokenTrieVariants.map(String).join(", ")}, got ${String(kind)}`);
  trieVariant.broken = kind;
}
