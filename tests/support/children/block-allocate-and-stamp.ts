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
 * must catch.
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

function brokenBlockAllocator() {
  let next = 0;
  let end = -1;
  return {
    allocateOffset(size: number): number {
      const rounded = Math.ceil(size / 8) * 8;
      if (next + rounded > end) {
        if (end !== -1) bumpWord[0] = BigInt(next); // the bug: no compare-and-swap
        next = arena.allocateOffset(blockSize);
        end = next + blockSize;
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
barrier(arena).arriveAndWait();
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
