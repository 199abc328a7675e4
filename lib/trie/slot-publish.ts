/**
 * How insert publishes a slot. Normally a 64-bit compare-and-swap; tests switch
 * it to a plain load-then-store (see testing.ts) to show that the multi-process
 * tests catch a lost update. Read only on insert's slow path, never by find.
 */
export type BrokenSlotPublish = "plain-store" | null;

export const slotPublish: { broken: BrokenSlotPublish } = { broken: null };
