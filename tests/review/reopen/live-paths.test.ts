/**
 * Review of the fast reopen (issue 8): lib/arena/live-files.ts remembers every
 * path an arena of this thread opened a live file by, and forgets them only when
 * the last arena of that file closes. A long-lived holder plus opens by many
 * names (temporary symlinks, per-request paths) grows the entry's `paths` and the
 * `livePaths` map without bound, and `enterLiveFile`'s `paths.includes` scan with
 * it; a path whose instances have all closed keeps pointing at the entry.
 */
import { expect, test } from "bun:test";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { liveFileAt } from "../../../lib/arena/live-files.ts";
import { tempDirectory } from "../../support/temp.ts";

const directory = tempDirectory("mfa-review-live-paths-");
const capacity = 1 << 20;

test("review/reopen: the paths remembered for a live file are those of its open instances, not every name it was ever opened by while a holder stayed open", () => {
  const path = join(directory, "held.arena");
  const holder = MappedFileRegionArena.create(path, { capacity });
  try {
    const names = 200;
    for (let i = 0; i < names; i++) {
      const name = join(directory, `name-${i}.arena`);
      symlinkSync(path, name);
      MappedFileRegionArena.create(name, { capacity }).close();
    }
    expect(liveFileAt(join(directory, "name-0.arena"))).toBeUndefined();
    expect(liveFileAt(path)!.paths.length).toBe(1);
  } finally {
    holder.close();
  }
});
