/**
 * Child process for tests/block-allocator.test.ts.
 *
 *   bun block-allocate-and-stamp.ts PATH CHILD_INDEX COUNT BLOCK_SIZE MODE
 *
 * Opens the arena, waits on the start barrier, then makes COUNT allocations of
 * sizes 1..200 through a block allocator of BLOCK_SIZE bytes and stamps each one.
 * Every 97th allocation is made directly from the arena, so that blocks of this
 * process and plain allocations interleave and some tails cannot be given back.
 * Prints its allocations and tail counts as JSON.
 *
 * MODE "block" uses arena.blockAllocator. MODE "plain-store-tail" is a hand-made
 * block allocator that gives every tail back with a plain store of the bump
 * pointer, without checking that nothing came after: the broken variant the test
 * must catch, staged so that it overlaps for certain (see brokenBlockAllocator).
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { fillStamp } from "../allocations.ts";
import { barrier, testHeaderOffset } from "../barrier.ts";

const [path, childText, countText, blockText, mode] = process.argv.slice(2);
const child = Number(childText);
const count = Number(countText);
const blockSize = Number(blockText);

const arena = MappedFileRegionArena.create(path!, { capacity: 64 * 1024 * 1024, headerOffset: testHeaderOffset });
const header = arena.bytes(testHeaderOffset, 32);
const bumpWord = new BigInt64Array(header.buffer, header.byteOffset, 1);

const rendezvous = barrier(arena);

/**
 * The bug does harm only when something was allocated after a block before its
 * tail is given back. Left to the scheduler that is likely, not certain, so the
 * first give-back of each child is staged (the race has exactly two children):
 * both wait until each holds one block (checkpoint 1; nothing else is allocated
 * yet, so the blocks are adjacent); the child whose block comes first gives its
 * tail back, moving the bump pointer back under the other's block, and takes its
 * next block there while the other waits (checkpoint 2). The allocation that did
 * not fit in the tail starts in it and runs onto the other child's first one.
 */
function brokenBlockAllocator() {
  let next = 0;
  let end = -1;
  let staged = true;
  return {
    allocateOffset(size: number): number {
      const rounded = Math.ceil(size / 8) * 8;
      if (next + rounded > end) {
        const stage = staged && end !== -1;
        let leads = false;
        if (stage) {
          staged = false;
          rendezvous.checkpoint(1, 2);
          leads = end < Number(Atomics.load(bumpWord, 0));
          if (!leads) rendezvous.checkpoint(2, 2);
        }
        if (end !== -1) bumpWord[0] = BigInt(next); // the bug: no compare-and-swap
        next = arena.allocateOffset(blockSize);
        end = next + blockSize;
        if (stage && leads) rendezvous.checkpoint(2, 2);
      }
      const start = next;
      next += rounded;
      return start;
    },
    close(): void {},
    tails: { returned: 0, lost: 0 },
  };
}

const allocator = mode === "plain-store-tail" ? brokenBlockAllocator() : arena.blockAllocator(blockSize);
rendezvous.arriveAndWait();
const allocations: [number, number][] = [];
let random = child * 7919 + 1;
for (let sequence = 0; sequence < count; sequence++) {
  random = (random * 1103515245 + 12345) % 2147483648;
  const size = 1 + (random % 200);
  const offset = sequence % 97 === 96 ? arena.allocateOffset(size) : allocator.allocateOffset(size);
  fillStamp(arena.bytes(offset, size), child, sequence);
  allocations.push([offset, size]);
}
allocator.close();
const tails = allocator.tails;
arena.close();
process.stdout.write(JSON.stringify({ child, allocations, tails }));
