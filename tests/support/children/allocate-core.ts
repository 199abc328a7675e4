/**
 * The allocation loop shared by the process child (allocator.ts) and the Worker
 * (allocator-worker.ts): open the arena, wait for a common start time so that
 * everyone allocates at once, allocate `count` stamped allocations, report them.
 *
 * mode "racy" is the deliberately broken variant: it bumps the header's bumpPtr
 * with a plain read and then a plain write instead of Atomics.add, as a naive
 * port would. Tests run it to show their checker sees the overlaps it causes.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { fillStamp, type AllocationRecord } from "../allocations.ts";
import { prng } from "../random.ts";

export interface AllocateJob {
  path: string;
  capacity: number;
  count: number;
  tag: number;
  seed: number;
  maxSize: number;
  startAtMs: number;
  /**
   * Instead of startAtMs: the offset of two words in the arena (arrived, go). The
   * child counts itself in and spins until the parent sets go (at most 60 s).
   */
  barrierOffset?: number;
  mode: "atomic" | "racy";
  instances: number;
}

/** Two 64-bit words at `offset` in the arena: a start barrier's (arrived, go). */
export function arenaWords(arena: MappedFileRegionArena, offset: number): BigInt64Array {
  const bytes = arena.bytes(offset, 16);
  return new BigInt64Array(bytes.buffer, bytes.byteOffset, 2);
}

export function runAllocateJob(job: AllocateJob): { records: AllocationRecord[]; arenas: MappedFileRegionArena[] } {
  const arenas: MappedFileRegionArena[] = [];
  for (let i = 0; i < job.instances; i++) arenas.push(MappedFileRegionArena.create(job.path, { capacity: job.capacity }));
  const random = prng(job.seed);
  const records: AllocationRecord[] = [];
  if (job.barrierOffset !== undefined) {
    const words = arenaWords(arenas[0]!, job.barrierOffset);
    Atomics.add(words, 0, 1n);
    const deadline = Date.now() + 60_000;
    while (Atomics.load(words, 1) === 0n) {
      if (Date.now() > deadline) throw new Error("no go from the parent within 60 s");
    }
  }
  while (Date.now() < job.startAtMs) {
    // Spin: a sleep has millisecond granularity and would spread the start.
  }
  for (let sequence = 0; sequence < job.count; sequence++) {
    const arena = arenas[sequence % arenas.length]!;
    const size = 1 + Math.floor(random() * job.maxSize);
    let offset: number;
    if (job.mode === "racy") {
      const view = arena.bytes(0, 32);
      const header = new BigInt64Array(view.buffer, view.byteOffset, 4);
      const old = Number(header[0]); // plain read...
      const rounded = Math.ceil(size / 8) * 8;
      if (old + rounded > arena.capacity) break;
      header[0] = BigInt(old + rounded); // ...then plain write: loses any add made in between
      offset = old;
    } else {
      offset = arena.allocateOffset(size);
    }
    fillStamp(arena.bytes(offset, size), job.tag, sequence);
    records.push({ offset, size, tag: job.tag, sequence });
  }
  return { records, arenas };
}
