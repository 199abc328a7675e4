/**
 * Broken variants of the remote layer, for its tests only: each shows that a test
 * catches the bug it is about. Never set them in real use.
 */
export const remoteTestHooks = {
  /** Downloads are stored without checking that their SHA-256 is the id asked for. */
  trustRemoteBytes: false,
  /** Every remote get of an id makes its own request, even while one for the id is in flight. */
  noSharedDownloads: false,
  /** An upload that ends before it is sent calls the drain again from inside the drain (the recursion that overflowed the stack). */
  recursiveDrain: false,
  /** Requests do not wait for a slot: every one goes to fetch at once, its deadline running in Bun's queue. */
  unboundedRequests: false,
  /** fetch inflates encoded bodies, and asks for them (read when a store's remote is made). */
  inflateBodies: false,
};

export type BrokenRemoteVariant = "trustRemoteBytes" | "noSharedDownloads" | "recursiveDrain" | "unboundedRequests" | "inflateBodies";

/** Turns on one broken variant of the remote layer in this process. */
export function useBrokenRemoteForTests(name: BrokenRemoteVariant): void {
  remoteTestHooks[name] = true;
}
