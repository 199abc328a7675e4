/**
 * Child of lock-discipline.test.ts, run with emulate-windows-locks.ts preloaded.
 *
 *   bun --preload .../emulate-windows-locks.ts lock-discipline-child.ts DIR MODE
 *
 * MODE "protocol" walks the open and close protocol through every path it has
 * (create, onCreate writing and throwing, reopen, grow after a shrink, two openers
 * at once, last and not-last closes, an interrupted creation redone, a header
 * mismatch and a foreign file refused). MODE "broken" instead writes the header
 * under the shared lock, as a port that skipped the upgrade to exclusive would.
 * Prints the calls Windows would have refused and how many calls were checked, as JSON.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { creationMarker } from "../../../lib/arena/header.ts";
import { closeFile, lockFile, openFile, unlockFile, writeAt } from "../../../lib/native/native.ts";
import { checked, violations } from "../lock-emulator.ts";

const [directory, mode] = process.argv.slice(2) as [string, string];
const MiB = 1024 * 1024;
const attempt = (open: () => void) => {
  try {
    open();
  } catch {
    // Refusals are expected here; only the calls made on the way matter.
  }
};

if (mode === "broken") {
  const path = join(directory, "broken.arena");
  const fd = openFile(path, { create: true });
  lockFile(fd, "shared", path);
  writeAt(fd, new Uint8Array(32), 0, path);
  unlockFile(fd, path);
  closeFile(fd, path);
} else {
  const path = join(directory, "arena.bin");
  const first = MappedFileRegionArena.create(path, {
    capacity: MiB,
    headerOffset: 8,
    onCreate: (fresh) => fresh.bytes(0, 8).fill(1),
  });
  first.append(new Uint8Array(100));
  const second = MappedFileRegionArena.create(path, { capacity: 2 * MiB, headerOffset: 8 });
  second.close(); // not the last
  first.close(); // the last: shrinks
  MappedFileRegionArena.create(path, { capacity: MiB, headerOffset: 8 }).close(); // grows, then shrinks
  attempt(() => MappedFileRegionArena.create(path, { capacity: MiB, headerOffset: 0 })); // mismatch

  const failing = join(directory, "failing.arena");
  attempt(() => MappedFileRegionArena.create(failing, { capacity: MiB, onCreate: () => { throw new Error("no"); } }));
  MappedFileRegionArena.create(failing, { capacity: MiB }).close();

  const interrupted = join(directory, "interrupted.arena");
  const header = new DataView(new ArrayBuffer(32));
  header.setBigUint64(0, 32n, true);
  header.setBigUint64(8, creationMarker, true);
  writeFileSync(interrupted, new Uint8Array(header.buffer));
  MappedFileRegionArena.create(interrupted, { capacity: MiB }).close();

  const foreign = join(directory, "foreign.txt");
  writeFileSync(foreign, "not an arena\n".repeat(10));
  attempt(() => MappedFileRegionArena.create(foreign, { capacity: MiB }));
}
process.stdout.write(JSON.stringify({ violations, checked }));
