// Review 5 of lib/store (branch review-store2), area: the store's marker (store-directory.ts).
// Nothing here can crash: the stores are opened in the test process.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";
import { createTempDirectory, removeDirectory } from "../../support/temp.ts";

const root = createTempDirectory("review5-marker-");
afterAll(() => removeDirectory(root));

function codeOf(action: () => unknown): string {
  try {
    action();
    return "no error";
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

// FINDINGS.md #3. writeMarker -> writeWholeFile writes the marker under a temporary name and
// renames it into place without an fsync of the file: after a power loss the name can be there
// with no data (ext4 without auto_da_alloc for a new name, xfs), i.e. an empty mfa.cas.store,
// the very state the suite shows as the broken variant markerInPlace's ("refuses the store for
// good"). Power loss is what validateIfNeeded exists for (recovery.ts), yet it calls
// claimStoreDirectory first, which judges an empty marker "not this store's marker": the store,
// intact otherwise (lock, v1.0 with its index), is refused by open and by validateIfNeeded alike.
// Expected: validateIfNeeded recovers (or finds the store valid and rewrites the marker), and open
// then works. Observed: both throw ERR_CAS_NOT_A_STORE, for good.
test("a store whose marker a power loss left empty is recovered by validateIfNeeded, not refused for good", () => {
  const directory = join(root, "empty-marker");
  const store = ContentStore.open(directory);
  store.put(new TextEncoder().encode("kept"));
  store.close();
  truncateSync(join(directory, "mfa.cas.store"), 0); // the name renamed into place, its data never written
  expect(codeOf(() => ContentStore.validateIfNeeded(directory, { force: true }))).toBe("no error");
  expect(codeOf(() => ContentStore.open(directory).close())).toBe("no error");
});

// FINDINGS.md #4. A writer creating a store makes, in order, the marker, the root `lock` and
// then v1.0 (openNewest's makeGeneration). A reader opening between the lock and v1.0 (here that
// state made by hand; in a probe of 15 rounds, 6 processes opening a new directory at once, 2 of
// 30 readers hit it) gets ERR_CAS_CORRUPT "holds no generation (v1.<n>): not a content store"
// from openNewestFinished, although the directory carries the marker. A moment later (v1.0 made,
// its tables not yet) the same reader gets ERR_ARENA_NOT_CREATED "a writer is making the store",
// and before the lock ENOENT "holds no content store": the retryable answers. Expected: a marked
// store with no generation yet is ERR_ARENA_NOT_CREATED (being made), never "corrupt" / "not a
// content store" (a tool mapping ERR_CAS_CORRUPT to recovery or to "delete it" acts on a store
// that is merely being created). Observed: ERR_CAS_CORRUPT.
test("a reader opening a store whose writer has made the marker and lock but not v1.0 yet is told it is being made, not that it is corrupt", () => {
  const directory = join(root, "being-made");
  mkdirSync(directory);
  writeFileSync(join(directory, "mfa.cas.store"), "mapped-file-arena content store v1\n");
  writeFileSync(join(directory, "lock"), "");
  expect(codeOf(() => ContentStore.openReadOnly(directory))).toBe("ERR_ARENA_NOT_CREATED");
});
