/**
 * For tests only; not exported from the package. Switches this process's
 * read-only opens to a broken variant, so a test can show it fails without the
 * real thing (a test that cannot fail proves nothing).
 */
import { readOnlyOpenVariant } from "./read-only.ts";
import { wordLoadsVariant } from "./word-loads.ts";

/**
 * "no-in-use-locks": a read-only open takes none of the in-use locks, so the
 * last writer to close shrinks the file under the reader's mapping (SIGBUS on
 * its next read past the new end). "atomic-loads": read-only openers (the arena,
 * and the trie, the log and the store over it) load shared words with
 * Atomics.load (as writers do for the arena's, the log's and the store's words;
 * the trie's slots every opener loads plainly), which copies the private page it loads from
 * (word-loads.ts), so the reader stops seeing writers' stores to it. null: the
 * real thing. Applies to opens after the call.
 */
export function useBrokenReadOnlyOpenForTests(kind: "no-in-use-locks" | "atomic-loads" | null): void {
  if (kind !== null && kind !== "no-in-use-locks" && kind !== "atomic-loads") {
    throw new RangeError(`kind must be "no-in-use-locks", "atomic-loads" or null, got ${String(kind)}`);
  }
  readOnlyOpenVariant.broken = kind === "no-in-use-locks" ? kind : null;
  wordLoadsVariant.broken = kind === "atomic-loads" ? kind : null;
}
