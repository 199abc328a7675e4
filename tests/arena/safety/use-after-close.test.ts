/**
 * Issue 3, point 1: use after close never crashes. Every view handed out
 * (allocate, bytes, and the windows behind them) reads as empty once the arena is
 * closed, every method throws ERR_ARENA_CLOSED, and handing out views does not
 * grow any bookkeeping.
 *
 * Broken variants caught: a close that unmaps without detaching (the reads in
 * children/use-after-close-child.ts would touch unmapped memory and kill the
 * process with SIGSEGV: observed when mapping.ts's transfer(0) calls are removed;
 * that child dies, not the test runner); a
 * method that forgets its closed check (it would return or crash instead of
 * throwing ERR_ARENA_CLOSED); tracking one buffer per view (the leak test: its
 * own "tracking" variant keeps every view, and the same measurement sees the heap
 * grow by hundreds of MB, as asserted below).
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { runChild } from "../../support/processes.ts";
import { tempDirectory } from "../../support/temp.ts";

const dir = tempDirectory("mfa-use-after-close-");

// Each runs in a child: if close failed to detach a view, reading it would kill
// the process with SIGSEGV, and that must be the child (issue 8 item 9c).
for (const [mode, name] of [
  ["views", "views read as empty after close, and every method throws ERR_ARENA_CLOSED"],
  ["failed-oncreate", "views from a failed onCreate are detached too"],
] as const) {
  test(name, async () => {
    const result = await runChild("use-after-close-child.ts", [mode, join(dir, `${mode}.arena`)]);
    expect(result.signalCode).toBeNull();
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("ok\n");
    expect(result.exitCode).toBe(0);
  }, 60_000);
}

/** Heap and RSS growth in MB after `calls` iterations of `step`. */
function growthMb(calls: number, step: (i: number) => void): { heapMb: number; rssMb: number } {
  for (let i = 0; i < 100_000; i++) step(i); // warm up the JIT and the heap
  Bun.gc(true);
  const before = process.memoryUsage();
  for (let i = 0; i < calls; i++) step(i);
  Bun.gc(true);
  const after = process.memoryUsage();
  return { heapMb: (after.heapUsed - before.heapUsed) / 2 ** 20, rssMb: (after.rss - before.rss) / 2 ** 20 };
}

test("two million bytes() and allocate() calls keep heap and RSS bounded", () => {
  const calls = 2_000_000;
  const path = join(dir, "leak.arena");
  const arena = MappedFileRegionArena.create(path, { capacity: 64 * 1024 * 1024 });
  let sum = 0;
  const viaBytes = growthMb(calls, (i) => {
    sum += arena.bytes((i % 1000) * 8, 16).length;
  });
  const viaAllocate = growthMb(calls, () => {
    sum += arena.allocate(8).length;
  });
  expect(sum).toBe(2_100_000 * 16 + 2_100_000 * 8);
  console.log(`bytes(): heap +${viaBytes.heapMb.toFixed(1)} MB, rss +${viaBytes.rssMb.toFixed(1)} MB; ` +
    `allocate(): heap +${viaAllocate.heapMb.toFixed(1)} MB, rss +${viaAllocate.rssMb.toFixed(1)} MB`);
  expect(viaBytes.heapMb).toBeLessThan(16);
  expect(viaAllocate.heapMb).toBeLessThan(16);
  // allocate touches 16 MB of fresh mapped pages: RSS may count them, nothing more.
  expect(viaBytes.rssMb).toBeLessThan(64);
  expect(viaAllocate.rssMb).toBeLessThan(64 + 24);

  // The broken variant, to show the measurement can fail: remembering each view
  // (what per-view tracking for detach would do) grows the heap by far more.
  const tracked: Uint8Array[] = [];
  const tracking = growthMb(calls, (i) => {
    tracked.push(arena.bytes((i % 1000) * 8, 16));
  });
  console.log(`tracking variant: heap +${tracking.heapMb.toFixed(1)} MB`);
  expect(tracking.heapMb).toBeGreaterThan(50);
  arena.close();
  expect(tracked[0]!.length).toBe(0);
  tracked.length = 0;
}, 60_000);
