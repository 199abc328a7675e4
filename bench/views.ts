/** Issue 4, item 3: allocations that return a view, and views of existing bytes, against allocateOffset. */
import type { BlockAllocator } from "../lib/index.ts";
import { compare, consume, type Row } from "./harness.ts";
import { GiB, KiB, MiB, RecyclingArena } from "./scratch.ts";

export function benchViews(): Row[] {
  const recycling = new RecyclingArena({ capacity: 64 * GiB }, 256 * MiB);
  let blocks: BlockAllocator = recycling.arena.blockAllocator(64 * KiB);
  const rows = compare(
    "views of 64 B",
    [
      {
        name: "arena.allocateOffset(64)",
        prepare: (ops) => void recycling.ensure(ops * 64),
        run(ops) {
          const arena = recycling.arena;
          let sum = 0;
          for (let i = 0; i < ops; i++) sum += arena.allocateOffset(64);
          consume(sum);
        },
      },
      {
        name: "arena.allocate(64)",
        prepare: (ops) => void recycling.ensure(ops * 64),
        run(ops) {
          const arena = recycling.arena;
          let sum = 0;
          for (let i = 0; i < ops; i++) sum += arena.allocate(64).byteOffset;
          consume(sum);
        },
      },
      {
        name: "arena.bytes(offset, 64)",
        prepare: () => void recycling.ensure(MiB),
        run(ops) {
          const arena = recycling.arena;
          let sum = 0;
          // Views of the first 64 KiB after the header, in turn.
          for (let i = 0; i < ops; i++) sum += arena.bytes(32 + (i & 1023) * 64, 64).byteOffset;
          consume(sum);
        },
      },
      {
        name: "blockAllocator(64 KiB).allocate(64)",
        prepare(ops) {
          // Another candidate may have replaced the arena; so may this one.
          recycling.ensure(ops * 64 + 64 * KiB);
          if (blocks.arena !== recycling.arena) blocks = recycling.arena.blockAllocator(64 * KiB);
        },
        run(ops) {
          const allocator = blocks;
          let sum = 0;
          for (let i = 0; i < ops; i++) sum += allocator.allocate(64).byteOffset;
          consume(sum);
        },
      },
    ],
    { baseline: "arena.allocateOffset(64)" },
  );
  blocks.close();
  recycling.close();
  return rows;
}
