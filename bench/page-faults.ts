/**
 * `bun bench/page-faults.ts`: what the kernel charges for the first store to each
 * page of a shared file mapping, which bounds what any append into fresh memory
 * can cost (see docs/performance.md). Not part of `bun run bench`: it is
 * an explanation, not a comparison.
 *
 * Three rounds of: a sparse range (no disk reserved) and a range reserved first
 * (one arena allocation), each 256 MiB in a new arena file; one byte is stored into
 * every 4 KiB page, then once more. The first round shows what memory the system
 * has not handed out before costs (on a VM, the hypervisor backs it on first
 * touch); later rounds reuse freed pages.
 */
import { MappedFileRegionArena } from "../lib/index.ts";
import { removeArenaFiles, scratchPath, MiB } from "./scratch.ts";

const pageBytes = 4096;
const rangeBytes = 256 * MiB;

function touchEveryPage(view: Uint8Array, at: number): number {
  const started = performance.now();
  for (let offset = at; offset < view.length; offset += pageBytes) view[offset] = 1;
  return ((performance.now() - started) * 1e6) / (view.length / pageBytes);
}

for (let round = 1; round <= 3; round++) {
  for (const kind of ["sparse", "reserved"] as const) {
    const path = scratchPath(`faults-${kind}`);
    const arena = MappedFileRegionArena.create(path, { capacity: 2 * rangeBytes });
    const offset = kind === "reserved" ? arena.allocateOffset(rangeBytes) : rangeBytes;
    const view = arena.bytes(offset, rangeBytes);
    const first = touchEveryPage(view, 0);
    const again = touchEveryPage(view, 1);
    console.log(
      `round ${round} ${kind.padEnd(8)} first store to a page ${first.toFixed(0).padStart(6)} ns ` +
        `(${(first / (pageBytes / 64)).toFixed(0).padStart(4)} ns per 64-byte record), again ${again.toFixed(0)} ns`,
    );
    arena.close();
    removeArenaFiles(path);
  }
}
