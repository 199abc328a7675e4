/**
 * The allocation loop shared by the process child (allocator.ts) and the Worker
 * (allocator-worker.ts): open the arena, wait on the start barrier so that
 * everyone allocates at once, allocate `count` stamped allocations, report them.
 * The arena's first testHeaderOffset bytes hold the barrier (../barrier.ts).
 *
 * mode "racy" is the deliberately broken variant: it bumps the header's bumpPtr
 * with a plain read and then a plain write instead of Atomics.add, as a naive
 * port would. Its first bump meets another participant's between the read and
 * the write (barrier.collide), so that at least two allocations overlap on any
 * machine, however the scheduler runs the participants; the rest race freely.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { fillStamp, type AllocationRecord } from "../allocations.ts";
import { barrier, testHeaderOffset } from "../barrier.ts";
import { prng } from "../random.ts";

export interface AllocateJob {
  path: string;
  capacity: number;
  count: number;
  tag: number;
  seed: number;
  maxSize: number;
  mode: "atomic" | "racy";
  instances: number;
  /**
   * When set, every `every` allocations all `participants` (the same count each)
   * meet at a checkpoint, so their allocations interleave in the file for certain.
   */
  checkpoints?: { every: number; participants: number };
}

export function runAllocateJob(job: AllocateJob): { records: AllocationRecord[]; arenas: MappedFileRegionArena[] } {
  const arenas: MappedFileRegionArena[] = [];
  const open = () => MappedFileRegionArena.create(job.path, { capacity: job.capacity, headerOffset: testHeaderOffset });
  for (let i = 0; i < job.instances; i++) arenas.push(open());
  const rendezvous = barrier(arenas[0]!);
  const random = prng(job.seed);
  const records: AllocationRecord[] = [];
  rendezvous.arriveAndWait();
  for (let sequence = 0; sequence < job.count; sequence++) {
    const { checkpoints } = job;
    if (checkpoints !== undefined && sequence > 0 && sequence % checkpoints.every === 0) {
      rendezvous.checkpoint(sequence / checkpoints.every, checkpoints.participants);
    }
    const arena = arenas[sequence % arenas.length]!;
    const size = 1 + Math.floor(random() * job.maxSize);
    let offset: number;
    if (job.mode === "racy") {
      const view = arena.bytes(testHeaderOffset, 32);
      const header = new BigInt64Array(view.buffer, view.byteOffset, 4);
      const old = Number(header[0]); // plain read...
      const rounded = Math.ceil(size / 8) * 8;
      if (old + rounded > arena.capacity) break;
      if (sequence === 0) rendezvous.collide();
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
