/**
 * Issue 4, item 1 and the block allocator: one allocation of 8 bytes against the
 * floor, one Atomics.add on a BigInt64Array over a MAP_SHARED mapping (Bun.mmap of
 * a scratch file, shared by default). The floor is measured twice: with its
 * result dropped (what the issue names), and with the result made a number, which
 * any allocator that returns an offset must do.
 */
import { writeFileSync } from "node:fs";
import type { BlockAllocator } from "../lib/index.ts";
import { compare, consume, type Row } from "./harness.ts";
import { GiB, KiB, MiB, RecyclingArena, scratchPath } from "./scratch.ts";

export function benchAllocate(): Row[] {
  const floorPath = scratchPath("floor");
  writeFileSync(floorPath, new Uint8Array(4096));
  const mapped = Bun.mmap(floorPath, { shared: true });
  const word = new BigInt64Array(mapped.buffer, mapped.byteOffset, 4);
  const increment = 8n;

  const recycling = new RecyclingArena({ capacity: 64 * GiB }, 256 * MiB);
  let blocks: BlockAllocator = recycling.arena.blockAllocator(64 * KiB);

  const rows = compare(
    "allocate 8 B",
    [
      {
        name: "floor: Atomics.add, result dropped",
        run(ops) {
          for (let i = 0; i < ops; i++) Atomics.add(word, 0, increment);
        },
      },
      {
        name: "floor: Number(Atomics.add(...))",
        run(ops) {
          let sum = 0;
          for (let i = 0; i < ops; i++) sum += Number(Atomics.add(word, 1, increment));
          consume(sum);
        },
      },
      {
        name: "arena.allocateOffset(8)",
        prepare: (ops) => void recycling.ensure(ops * 8),
        run(ops) {
          const arena = recycling.arena;
          let sum = 0;
          for (let i = 0; i < ops; i++) sum += arena.allocateOffset(8);
          consume(sum);
        },
      },
      {
        name: "blockAllocator(64 KiB).allocateOffset(8)",
        prepare(ops) {
          // Another candidate may have replaced the arena; so may this one.
          recycling.ensure(ops * 8 + 64 * KiB);
          if (blocks.arena !== recycling.arena) blocks = recycling.arena.blockAllocator(64 * KiB);
        },
        run(ops) {
          const allocator = blocks;
          let sum = 0;
          for (let i = 0; i < ops; i++) sum += allocator.allocateOffset(8);
          consume(sum);
        },
      },
    ],
    { baseline: "floor: Atomics.add, result dropped" },
  );
  blocks.close();
  recycling.close();
  return rows;
}

if (import.meta.main) {
  for (const row of benchAllocate()) console.log(`${row.group.padEnd(24)} ${row.name.padEnd(56)} ${row.nsPerOp.toFixed(1).padStart(9)} ns  ${row.ratio.toFixed(3)}x`);
}
