/**
 * One participant in the randomized model test (tests/arena/safety/model.ts). argv: JSON ModelChildJob.
 * Prints "open" once its instances are open, then runs seeded random operations
 * (allocate, append, allocate 0 bytes, close one instance and reopen it), logging
 * each stamped allocation with a synchronous write before the next operation, so
 * that a SIGKILL loses at most an allocation it never logged. Prints "done", then
 * waits for "close" on stdin, closes everything and prints "closed".
 *
 * mode "racy" is the broken variant: plain read then write of bumpPtr. Its first
 * allocation of a nonzero size meets another child's between the read and the
 * write (barrier.collide), so two allocations overlap for certain.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { ArenaError, MappedFileRegionArena } from "../../../lib/index.ts";
import { fillStamp, formatRecord } from "../allocations.ts";
import { barrier, testHeaderOffset } from "../barrier.ts";
import { prng } from "../random.ts";

export interface ModelChildJob {
  path: string;
  capacity: number;
  tag: number;
  seed: number;
  operations: number;
  instances: number;
  logPath: string;
  startAtMs: number;
  mode: "atomic" | "racy";
}

const job = JSON.parse(process.argv[2]!) as ModelChildJob;
const random = prng(job.seed);
const log = openSync(job.logPath, "a");
const open = () => MappedFileRegionArena.create(job.path, { capacity: job.capacity, headerOffset: testHeaderOffset });
const arenas = Array.from({ length: job.instances }, open);
process.stdout.write("open\n");
while (Date.now() < job.startAtMs) {
  // spin until everyone starts together
}

let collided = false;
function racyAllocate(arena: MappedFileRegionArena, size: number): number {
  const view = arena.bytes(testHeaderOffset, 32);
  const header = new BigInt64Array(view.buffer, view.byteOffset, 4);
  const old = Number(header[0]);
  const rounded = Math.ceil(size / 8) * 8;
  if (old + rounded > arena.capacity) throw new ArenaError("ERR_ARENA_FULL", "full");
  // An empty allocation writes nothing: a stale write-back of it could move the
  // pointer back between the colliding reads and spoil the certain overlap.
  if (rounded === 0) return old;
  if (!collided) barrier(arena).collide();
  collided = true;
  header[0] = BigInt(old + rounded);
  return old;
}

let full = 0;
for (let sequence = 0; sequence < job.operations; sequence++) {
  const which = Math.floor(random() * arenas.length);
  const arena = arenas[which]!;
  const choice = random();
  try {
    if (choice < 0.04) {
      arena.close();
      arenas[which] = open();
      continue;
    }
    const size = choice < 0.1 ? 0 : 1 + Math.floor(random() * (random() < 0.1 ? 4000 : 200));
    let offset: number;
    if (job.mode === "racy") {
      offset = racyAllocate(arena, size);
      fillStamp(arena.bytes(offset, size), job.tag, sequence);
    } else if (choice < 0.55) {
      offset = arena.allocateOffset(size);
      fillStamp(arena.bytes(offset, size), job.tag, sequence);
    } else {
      const bytes = new Uint8Array(size);
      fillStamp(bytes, job.tag, sequence);
      offset = arena.append(bytes);
    }
    writeSync(log, `${formatRecord({ offset, size, tag: job.tag, sequence })}\n`);
  } catch (error) {
    if (!(error instanceof ArenaError) || error.code !== "ERR_ARENA_FULL") throw error;
    full++;
  }
}
closeSync(log);
process.stdout.write(`done ${full}\n`);
for await (const chunk of Bun.stdin.stream()) {
  if (new TextDecoder().decode(chunk).includes("close")) break;
}
for (const arena of arenas) arena.close();
process.stdout.write("closed\n");
