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
  mode: "atomic" | "racy";
  instances: number;
}

export function runAllocateJob(job: AllocateJob): { records: AllocationRecord[]; arenas: MappedFileRegionArena[] } {
  const arenas: MappedFileRegionArena[] = [];
  for (let i = 0; i < job.instances; i++) arenas.push(MappedFileRegionArena.create(job.path, { capacity: job.capacity }));
  const random = prng(job.seed);
  const records: AllocationRecord[] = [];
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
