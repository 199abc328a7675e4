/**
 * argv: mode, arena path. Opens the arena, does one thing, prints the offset,
 * and SIGKILLs itself: no close, no sync, no exit handlers.
 *  write-then-die     appends 64 KiB of a pattern (byte i = i * 7 + 3).
 *  allocate-then-die  allocates 64 KiB and writes nothing.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";

const [mode, path] = process.argv.slice(2) as [string, string];
const arena = MappedFileRegionArena.create(path, { capacity: 16 * 1024 * 1024 });
let offset: number;
if (mode === "write-then-die") {
  const data = new Uint8Array(65536);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
  offset = arena.append(data);
} else {
  offset = arena.allocateOffset(65536);
}
process.stdout.write(`${offset}\n`);
process.kill(process.pid, "SIGKILL");
