// Review 5 of lib/store (branch review-store2), area: a full disk. Runs on a 40 MiB tmpfs mounted
// for this file (we are root; if the mount fails the test fails with the reason, never skips);
// the store's work is done in a child process.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { smallDisk } from "../../support/small-disk.ts";
import { runToEnd } from "../support.ts";

const disk = smallDisk("review5-disk-full-", 40);

// FINDINGS.md #1. A write (here an opener's first put; a read's copy forward does the same) finds
// the primary past its budget and rotates: startNextGeneration flags v1.0 superseded and makes
// v1.1, then #follow -> openNewest -> Generation.open(v1.1) cannot create v1.1's tables (ENOSPC).
// The put's ENOSPC is documented. But v1.0 stays flagged and v1.1 unfinished, so from then on
// every operation of every writer process starts with #current() -> #follow() -> the same failed
// creation: get, has, view (and stats) of objects v1.0 holds in its pool throw ENOSPC, in the
// opener that never wrote anything since, too. Expected: reads on a full disk return what the
// store has (docs/store.md; the fallback in #readOlder), the failed rotation costs the put only.
// Observed: {"put":"ENOSPC","firstGet":"ENOSPC","secondGet":"ENOSPC","secondHas":"ENOSPC","firstView":"ENOSPC"}.
test("after a rotation fails on a full disk, get, has and view of objects in the old primary still return them", async () => {
  const mountPoint = disk.mountPoint();
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "children", "rotation-on-full-disk.ts"), join(mountPoint, "store")], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const result = await runToEnd(child);
  expect(result.signalCode).toBeNull();
  expect(result.stderr).not.toContain("setup:");
  expect(JSON.parse(result.stdout.trim())).toMatchObject({ firstGet: "ok", secondGet: "ok", secondHas: "ok", firstView: "ok" });
}, 120_000);
