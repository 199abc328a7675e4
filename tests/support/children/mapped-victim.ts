/**
 * argv: arena path, capacity. The process that must not be hurt by another
 * opener's close: opens the arena, allocates 8 KiB (past the header's page, so
 * it reserves disk a megabyte ahead) and says "open". On "go" (stdin) it allocates and fills eight
 * 64 KiB chunks inside what it reserved, says "survived" and closes. If someone
 * shrank the file meanwhile, those pages are past its end and the first write
 * kills this process with SIGBUS, which its parent sees.
 *
 * A third argument "handed-on" (or "handed-on-broken", with the broken variant
 * no-inode-lock-handoff) opens the arena twice in this thread and closes the
 * first instance, which held the thread's inode lock, before saying "open": the
 * second must have taken it over.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { useBrokenArenaForTests } from "../../../lib/arena/arena-testing.ts";

const [path, capacityText, mode] = process.argv.slice(2) as [string, string, string | undefined];
if (mode === "handed-on-broken") useBrokenArenaForTests("no-inode-lock-handoff");
const first = mode === undefined ? undefined : MappedFileRegionArena.create(path, { capacity: Number(capacityText) });
const arena = MappedFileRegionArena.create(path, { capacity: Number(capacityText) });
first?.close();
arena.allocateOffset(8192);
process.stdout.write("open\n");
for await (const line of console) {
  if (line.trim() === "go") break;
}
for (let chunk = 0; chunk < 8; chunk++) arena.allocate(64 * 1024).fill(chunk + 1);
process.stdout.write("survived\n");
arena.close();
