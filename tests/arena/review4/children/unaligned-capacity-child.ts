/**
 * Child for tests/arena/review4/unaligned-capacity.test.ts.
 *
 *   bun unaligned-capacity-child.ts kill PATH CAPACITY
 *     creates an arena, appends "kept", leaves the state of a process killed
 *     inside an overflowing allocation (bumpPtr past the capacity, as
 *     tests/support/children/killed-mid-overflow.ts does), and SIGKILLs itself.
 *   bun unaligned-capacity-child.ts reopen PATH CAPACITY
 *     opens it (the last closer then settles the bump pointer and shrinks the
 *     file), closes it, opens it again and prints {first, second, bytes} or the
 *     error's code and message.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { MappedFileRegionArena } from "../../../../lib/index.ts";

const [mode, path, capacityText] = process.argv.slice(2) as [string, string, string];
const capacity = Number(capacityText);
if (mode === "kill") {
  const arena = MappedFileRegionArena.create(path, { capacity });
  arena.append(new TextEncoder().encode("kept"));
  const fd = openSync(path, "r+");
  const word = Buffer.alloc(8);
  // An add of 8-aligned sizes from an 8-aligned start: past the capacity, and aligned.
  word.writeBigUInt64LE(BigInt(Math.ceil(capacity / 8) * 8) + 4096n);
  writeSync(fd, word, 0, 8, arena.headerOffset);
  closeSync(fd);
  process.kill(process.pid, "SIGKILL");
} else {
  const report: Record<string, unknown> = {};
  try {
    using first = MappedFileRegionArena.create(path, { capacity });
    report.first = { size: first.size, bytes: new TextDecoder().decode(first.bytes(32, 4)) };
  } catch (error) {
    report.first = { code: (error as { code?: string }).code, message: (error as Error).message };
  }
  try {
    using second = MappedFileRegionArena.create(path, { capacity });
    report.second = { size: second.size, bytes: new TextDecoder().decode(second.bytes(32, 4)) };
  } catch (error) {
    report.second = { code: (error as { code?: string }).code, message: (error as Error).message };
  }
  console.log(JSON.stringify(report));
}
