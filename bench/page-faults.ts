/**
 * `bun bench/page-faults.ts`: what the kernel charges for the first store to each
 * page of a shared file mapping, which bounds what any append into fresh memory
 * can cost (see docs/log.md, Speed). Not part of `bun run bench`: it is an
 * explanation, not a comparison.
 *
 * A 64 MiB range of a new arena file, taken 64 KiB at a time as a record log
 * claims its blocks; one byte is stored into every 4 KiB page, then once more.
 * Kinds: "sparse" (no disk reserved), "reserved" (one arena allocation: fallocate),
 * and reserved with each 64 KiB block faulted in first by one madvise call, as
 * the log could do when it claims a block: MADV_POPULATE_WRITE ("populate-write")
 * or MADV_POPULATE_READ ("populate-read"), the call timed with the stores.
 * Reported per page: CPU time (user + system, which the machine's other tenants
 * do not change much) and wall time, medians of 5 rounds in rotating order.
 */
import { MappedFileRegionArena } from "../lib/index.ts";
import { populateMapping } from "../lib/native/native.ts";
import { median } from "./harness.ts";
import { removeArenaFiles, scratchPath, MiB } from "./scratch.ts";

const pageBytes = 4096;
const blockBytes = 64 * 1024;
const rangeBytes = 64 * MiB;
const pages = rangeBytes / pageBytes;
const kinds = ["sparse", "reserved", "populate-write", "populate-read"] as const;
type Kind = (typeof kinds)[number];

const cpuNs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
};

/** Per page: [cpu ns, wall ns] of the first store (with the madvise, if any), and wall ns of a second store. */
function round(kind: Kind): [number, number, number] {
  const path = scratchPath(`faults-${kind}`);
  const arena = MappedFileRegionArena.create(path, { capacity: 2 * rangeBytes });
  try {
    // Page-aligned (madvise needs it; a log's blocks are): allocate a page more and round up.
    const offset = kind === "sparse" ? rangeBytes : Math.ceil(arena.allocateOffset(rangeBytes + pageBytes) / pageBytes) * pageBytes;
    const view = arena.bytes(offset, rangeBytes);
    const cpuStart = cpuNs();
    const wallStart = Bun.nanoseconds();
    for (let block = 0; block < rangeBytes; block += blockBytes) {
      if (kind === "populate-write" || kind === "populate-read") {
        const errno = populateMapping(view.subarray(block, block + blockBytes), kind === "populate-write" ? "write" : "read");
        if (errno !== 0) throw new Error(`madvise failed with errno ${errno} (before Linux 5.14: no MADV_POPULATE_*)`);
      }
      for (let page = block; page < block + blockBytes; page += pageBytes) view[page] = 1;
    }
    const first: [number, number] = [(cpuNs() - cpuStart) / pages, (Bun.nanoseconds() - wallStart) / pages];
    const againStart = Bun.nanoseconds();
    for (let page = 1; page < rangeBytes; page += pageBytes) view[page] = 2;
    return [...first, (Bun.nanoseconds() - againStart) / pages];
  } finally {
    arena.close();
    removeArenaFiles(path);
  }
}

const samples = new Map<Kind, [number, number, number][]>(kinds.map((kind) => [kind, []]));
for (let index = 0; index < 5; index++) {
  for (let step = 0; step < kinds.length; step++) {
    const kind = kinds[(index + step) % kinds.length]!;
    samples.get(kind)!.push(round(kind));
  }
}
for (const kind of kinds) {
  const rows = samples.get(kind)!;
  const [cpu, wall, again] = [0, 1, 2].map((column) => median(rows.map((row) => row[column]!)));
  console.log(
    `${kind.padEnd(15)} first store to a page: CPU ${cpu!.toFixed(0).padStart(5)} ns (${(cpu! / (pageBytes / 68)).toFixed(0).padStart(3)} ns per 64-byte record), ` +
      `wall ${wall!.toFixed(0).padStart(5)} ns; again: ${again!.toFixed(0)} ns`,
  );
}
