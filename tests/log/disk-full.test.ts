/**
 * Issue 12 on a full disk: a claim that cannot reserve its block's disk (ENOSPC)
 * moves nothing (the log claims by compare-and-swap after the reservation, so no
 * follower can see a block that is then taken back: docs/DESIGN.md (the record log), "Claims
 * are never taken back"), the writer can retry once there is space, and every
 * record is read once, in order, with no hole. Runs on a 4 MiB tmpfs mounted for
 * this file (root needed: if the mount fails the test fails with the reason), in
 * a child process.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { smallDisk } from "../support/small-disk.ts";
import { finished } from "../support/processes.ts";
import { spawnLogChild } from "./support/children.ts";

const disk = smallDisk("mfa-log-disk-full-", 4);

test("issue 12: appends refused on ENOSPC claim nothing; after space comes back every record is read once, in order", async () => {
  const mountPoint = disk.mountPoint();
  const child = spawnLogChild("disk-full-log.ts", [join(mountPoint, "full.log"), join(mountPoint, "spare")]);
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  const result = await finished(child);
  clearTimeout(timer);
  expect(result.stderr).toBe("");
  expect(result.signalCode).toBeNull();
  const report = JSON.parse(result.stdout.trim().split("\n").pop()!);
  expect(report.failure).toEqual({ code: "ENOSPC" });
  expect(report.appended).toBeGreaterThan(1000);
  expect(report.retries).toEqual(["ENOSPC", "ENOSPC", "ENOSPC", "ENOSPC", "ENOSPC"]);
  expect(report.blocksAfterRetries).toBe(report.blocksAtFailure);
  expect(report.appendedAfter).toBe(10);
  expect(report.read).toBe(report.total);
  expect(report.inOrder).toBe(true);
  expect(report.holes).toBe(0);
}, 120_000);
