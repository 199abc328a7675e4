/**
 * For tests only; not exported from the package. Switches this process's
 * read-only opens to a broken variant, so a test can show it fails without the
 * real thing (a test that cannot fail proves nothing).
 */
import { readOnlyOpenVariant, type BrokenReadOnlyOpen } from "./read-only.ts";

/**
 * "no-in-use-locks": a read-only open takes none of the in-use locks, so the
 * last writer to close shrinks the file under the reader's mapping (SIGBUS on
 * its next read past the new end). null: the real thing.
 */
export function useBrokenReadOnlyOpenForTests(kind: BrokenReadOnlyOpen): void {
  if (kind !== null && kind !== "no-in-use-locks") throw new RangeError(`kind must be "no-in-use-locks" or null, got ${String(kind)}`);
  readOnlyOpenVariant.broken = kind;
}
