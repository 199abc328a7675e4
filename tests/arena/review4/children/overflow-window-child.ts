/**
 * Child for tests/arena/review4/block-allocator-near-the-end.test.ts: the
 * interleaving of two processes made certain in one.
 *
 *   bun overflow-window-child.ts PATH
 *
 * Two arenas of one file (64 MiB, 60 MiB used, 4 MiB left): `blocks` with a
 * BlockAllocator of 8 MiB blocks, `plain` allocating directly. Atomics.exchange
 * is wrapped so that when an overflowing allocation puts the bump pointer back
 * (arena.ts #refuseFull), `plain` first makes one allocateOffset(8): what another
 * process allocating at that moment does. The block allocator then allocates 8
 * bytes 100 times. Prints {windows, plainRefused, plainAllocated, sizeAfter,
 * plainAfter}: how many put-backs there were, how the allocations made inside
 * them ended, and an allocation made by `plain` afterwards (room was left).
 */
import { MappedFileRegionArena } from "../../../../lib/index.ts";

const [path] = process.argv.slice(2) as [string];
const MiB = 2 ** 20;
using blocks = MappedFileRegionArena.create(path, { capacity: 64 * MiB });
blocks.allocateOffset(60 * MiB);
using plain = MappedFileRegionArena.create(path, { capacity: 64 * MiB });

let windows = 0;
let plainRefused = 0;
let plainAllocated = 0;
let inside = false;
const exchange = Atomics.exchange;
(Atomics as { exchange: typeof Atomics.exchange }).exchange = ((typedArray: BigUint64Array, index: number, value: bigint) => {
  if (!inside && index === 0 && typedArray instanceof BigUint64Array && typedArray[0]! > BigInt(blocks.capacity)) {
    windows++;
    inside = true;
    try {
      plain.allocateOffset(8);
      plainAllocated++;
    } catch (error) {
      if ((error as { code?: string }).code !== "ERR_ARENA_FULL") throw error;
      plainRefused++;
    } finally {
      inside = false;
    }
  }
  return exchange(typedArray as never, index, value as never);
}) as typeof Atomics.exchange;

{
  using block = blocks.blockAllocator(8 * MiB);
  for (let index = 0; index < 100; index++) block.allocateOffset(8);
}
(Atomics as { exchange: typeof Atomics.exchange }).exchange = exchange;
const sizeAfter = blocks.size;
plain.allocateOffset(8);
console.log(JSON.stringify({ windows, plainRefused, plainAllocated, sizeAfter, plainAfter: "allocated" }));
