/**
 * Child for reservation-proof.test.ts: an arena is opened, written and closed by
 * this thread; then a hole is punched below its bump pointer (another tool's
 * `fallocate --punch-hole`), the disk fills, and this thread opens it again and
 * writes into the hole. What this thread's arenas proved about the file is reused
 * only while one of them has it open (lib/arena/live-files.ts): this open must
 * prove the prefix afresh, so the write is ENOSPC or works, never SIGBUS.
 *
 *   bun reopen-after-hole.ts PATH
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { fillDisk } from "../isolated-runs.ts";

const path = process.argv[2]!;
const KiB = 1024;
const capacity = 8 * 1024 * KiB;
const first = MappedFileRegionArena.create(path, { capacity });
first.allocate(512 * KiB).fill(1); // proves and reserves ~1.5 MiB
first.close();
const punch = Bun.spawnSync(["fallocate", "--punch-hole", "--offset", String(4 * KiB), "--length", String(256 * KiB), path]);
if (punch.exitCode !== 0) throw new Error(`fallocate --punch-hole failed: ${punch.stderr}`);
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
