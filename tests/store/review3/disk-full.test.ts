// Review of lib/store (branch review-store), area: a full disk. Runs on a 40 MiB tmpfs mounted
// for this file (we are root; if the mount fails the test fails with the reason, never skips);
// the store's work is done in a child process. Fails on main at b70d492.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { smallDisk } from "../../support/small-disk.ts";
import { runToEnd } from "../support.ts";

const disk = smallDisk("review3-disk-full-", 40);

// FINDINGS.md #9. get() and has() of an object only the upstream generation holds copy it forward
// first (#getSlowly -> #copyForward -> storeObject -> writeWholeFile), and a failure of that copy
// is the read's failure. Expected: on a full disk, a read of an object the store has returns it
// (the copy forward is what keeps it alive, not what reads it: openReadOnly returns it from the
// upstream without a copy, and put's ENOSPC is documented, not get's). Observed: get(large) and
// has(large) throw ArenaError ENOSPC (writing leaf.<id>.<pid>.<n>.tmp); in a probe that filled
// a 24 MiB store's disk with puts, 466 of 789 acknowledged objects could not be read this way.
test("on a full disk, get and has of an object in the upstream generation return it instead of throwing ENOSPC", async () => {
  const mountPoint = disk.mountPoint();
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "children", "full-disk-read.ts"), join(mountPoint, "store")], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const result = await runToEnd(child);
  expect(result.signalCode).toBeNull();
  expect(JSON.parse(result.stdout.trim())).toEqual({ large: "ok", small: "ok", hasLarge: "ok" });
}, 120_000);
