/**
 * Broken variants of the remote layer, for its tests only: each shows that a test
 * catches the bug it is about. Never set them in real use.
 */
export const remoteTestHooks = {
  /** Downloads are stored without checking that their SHA-256 is the id asked for. */
  trustRemoteBytes: false,
  /** Every remote get of an id makes its own request, even while one for the id is in flight. */
  noSharedDownloads: false,
};
