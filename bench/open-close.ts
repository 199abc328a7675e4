/**
 * Issue 4, item 5: create + close of an existing 64 MiB arena, while another
 * instance (in this process: flock locks belong to the open file description,
 * so it counts as another opener) holds it open, and as its only user (then every
 * close is the last: msync, unmap, shrink, and every create grows the file again).
 */
import { MappedFileRegionArena } from "../lib/index.ts";
import { compare, type Row } from "./harness.ts";
import { MiB, removeArenaFiles, scratchPath } from "./scratch.ts";

export function benchOpenClose(): Row[] {
  const options = { capacity: 64 * MiB };
  const heldPath = scratchPath("held");
  const holder = MappedFileRegionArena.create(heldPath, options);
  holder.append(new Uint8Array(MiB));
  const alonePath = scratchPath("alone");
  const seed = MappedFileRegionArena.create(alonePath, options);
  seed.append(new Uint8Array(MiB));
  seed.close();
  const rows = compare(
    "create+close 64 MiB arena",
    [
      {
        name: "another instance holds it open",
        run(ops) {
          for (let i = 0; i < ops; i++) MappedFileRegionArena.create(heldPath, options).close();
        },
      },
      {
        name: "only user (every close is the last)",
        run(ops) {
          for (let i = 0; i < ops; i++) MappedFileRegionArena.create(alonePath, options).close();
        },
      },
    ],
    { baseline: "another instance holds it open", rounds: 7, roundMs: 40 },
  );
  holder.close();
  removeArenaFiles(heldPath);
  removeArenaFiles(alonePath);
  return rows;
}
