/**
 * Child for tests/arena/safety/reservation-proof.test.ts (found by the review of
 * the fast reopen): an arena of this thread holds the file open
 * (and proved its prefix reserved); then, under the same path, the file loses
 * blocks below its bump pointer while it stays the same inode:
 *  - "punch": another tool's `fallocate --punch-hole`;
 *  - "copy": `cp --sparse=always` of a sparse copy over it (cp opens the
 *    existing file with O_TRUNC and writes into it: same inode, new holes).
 * The disk fills, and this thread opens the path again and writes into the
 * hole through the new instance. A fresh open proves its prefix from the file
 * (disk-proof.ts): the write must be ENOSPC or work, never SIGBUS.
 *
 *   bun hole-while-held.ts PATH punch|copy
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { fillDisk } from "../isolated-runs.ts";

const [path, how] = process.argv.slice(2) as [string, "punch" | "copy"];
const KiB = 1024;
const capacity = 8 * 1024 * KiB;
const holder = MappedFileRegionArena.create(path, { capacity });
holder.allocate(512 * KiB).fill(1); // proves and reserves a prefix past 512 KiB
if (how === "punch") {
  const punch = Bun.spawnSync(["fallocate", "--punch-hole", "--offset", String(4 * KiB), "--length", String(256 * KiB), path]);
  if (punch.exitCode !== 0) throw new Error(`fallocate --punch-hole failed: ${punch.stderr}`);
} else {
  // A sparse copy of the file (made elsewhere), copied back over it in place.
  const copy = `${path}.copy`;
  const first = Bun.spawnSync(["cp", "--sparse=always", path, copy]);
  const punch = Bun.spawnSync(["fallocate", "--punch-hole", "--offset", String(4 * KiB), "--length", String(256 * KiB), copy]);
  const back = Bun.spawnSync(["cp", "--sparse=always", copy, path]);
  if (first.exitCode !== 0 || punch.exitCode !== 0 || back.exitCode !== 0) throw new Error("cp/fallocate failed");
  Bun.spawnSync(["rm", "-f", copy]);
}
fillDisk(path);
const report: Record<string, unknown> = {};
try {
  const again = MappedFileRegionArena.create(path, { capacity });
  again.bytes(4 * KiB, 256 * KiB).fill(2); // SIGBUS here if the hole was taken as reserved
  report.wrote = true;
  again.close();
} catch (error) {
  report.error = (error as { code?: string }).code ?? String(error);
}
console.log(JSON.stringify(report));
