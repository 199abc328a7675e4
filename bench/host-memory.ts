/**
 * `bun bench/host-memory.ts`: what first touching fresh memory in 2 MiB pages
 * costs on this machine, per 4 KiB. Not part of `bun run
 * bench`: it explains why the record log's figures swing (docs/log.md, Speed).
 *
 * A log writes into new page-cache pages, which the kernel takes in large folios
 * (up to 2 MiB) from its free blocks of high order. On a virtual machine whose
 * host takes free guest memory back (free page reporting, a balloon), the first
 * touch of such a block is also the host's fault: the guest waits while the host
 * backs and zeroes the memory. Blocks the guest freed a moment ago are still
 * backed and cost only the guest's zeroing.
 *
 * Each round takes 32 MiB of new anonymous memory (kept, so every round needs
 * more), advised to 2 MiB pages (MADV_HUGEPAGE), and stores one byte per 4 KiB;
 * CPU time (user + system) per 4 KiB. Then the memory is dropped and the same is
 * done again, which reuses what was just freed. The rounds are printed in order:
 * two levels (a few hundred ns, and several µs per 4 KiB) are the two kinds of
 * memory. Which one the first pass gets depends on what the machine freed lately
 * (run it twice in a row and the second run's first pass is reused memory too).
 */
import { adviseHugePages } from "../lib/native/native.ts";
import { median } from "./harness.ts";

const roundBytes = 32 * 1024 * 1024;
const rounds = 12;
const pageBytes = 4096;

function pass(): number[] {
  const kept: Uint8Array[] = [];
  const costs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const memory = new Uint8Array(roundBytes);
    if (adviseHugePages(memory) !== 0) throw new Error("madvise(MADV_HUGEPAGE) failed (Linux only)");
    const before = process.cpuUsage();
    for (let at = 0; at < roundBytes; at += pageBytes) memory[at] = 1;
    const used = process.cpuUsage(before);
    costs.push(((used.user + used.system) * 1000) / (roundBytes / pageBytes));
    kept.push(memory);
  }
  return costs;
}

for (const attempt of ["first", "again"]) {
  const costs = pass();
  Bun.gc(true);
  const text = costs.map((cost) => cost.toFixed(0)).join(" ");
  console.log(`2 MiB pages, ${attempt}: CPU ns per 4 KiB, median ${median(costs).toFixed(0)}; rounds: ${text}`);
}
