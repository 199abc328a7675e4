/**
 * Child process for tests/multiprocess.test.ts.
 *
 *   bun allocate-and-stamp.ts PATH CHILD_INDEX COUNT MODE
 *
 * Opens the arena, announces itself on the start barrier in the user bytes before
 * the header, waits for the parent's go, then makes COUNT allocations of sizes
 * 1..200 and stamps each one. Prints its allocations as JSON.
 *
 * MODE "atomic" uses allocateOffset. MODE "read-then-write" bumps the header word
 * with a plain load and store instead of Atomics.add: the broken variant the test
 * must catch. Its first bump meets another child's between the load and the store
 * (barrier.collide), so the lost update happens on any machine, not only when the
 * scheduler happens to interleave the children.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { fillStamp } from "../allocations.ts";
import { barrier, testHeaderOffset } from "../barrier.ts";

const [path, childText, countText, mode] = process.argv.slice(2);
const child = Number(childText);
const count = Number(countText);

const arena = MappedFileRegionArena.create(path!, { capacity: 64 * 1024 * 1024, headerOffset: testHeaderOffset });
const rendezvous = barrier(arena);
const header = arena.bytes(testHeaderOffset, 32);
const bumpWord = new BigInt64Array(header.buffer, header.byteOffset, 1);

function brokenAllocateOffset(size: number, sequence: number): number {
  const rounded = Math.ceil(size / 8) * 8;
  const oldEnd = bumpWord[0]!;
  if (sequence === 0) rendezvous.collide();
  bumpWord[0] = oldEnd + BigInt(rounded);
  return Number(oldEnd);
}

rendezvous.arriveAndWait();
const allocations: [number, number][] = [];
let random = child * 7919 + 1;
for (let sequence = 0; sequence < count; sequence++) {
  random = (random * 1103515245 + 12345) % 2147483648;
  const size = 1 + (random % 200);
  const offset = mode === "read-then-write" ? brokenAllocateOffset(size, sequence) : arena.allocateOffset(size);
  fillStamp(arena.bytes(offset, size), child, sequence);
  allocations.push([offset, size]);
}
arena.close();
process.stdout.write(JSON.stringify({ child, allocations }));
