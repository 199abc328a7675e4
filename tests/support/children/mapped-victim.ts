/**
 * argv: arena path, capacity. The process that must not be hurt by another
 * opener's close: opens the arena, allocates 8 KiB (past the header's page, so
 * it reserves disk a megabyte ahead) and says "open". On "go" (stdin) it allocates and fills eight
 * 64 KiB chunks inside what it reserved, says "survived" and closes. If someone
 * shrank the file meanwhile, those pages are past its end and the first write
 * kills this process with SIGBUS, which its parent sees.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";

const [path, capacityText] = process.argv.slice(2) as [string, string];
const arena = MappedFileRegionArena.create(path, { capacity: Number(capacityText) });
arena.allocateOffset(8192);
process.stdout.write("open\n");
for await (const line of console) {
  if (line.trim() === "go") break;
}
for (let chunk = 0; chunk < 8; chunk++) arena.allocate(64 * 1024).fill(chunk + 1);
process.stdout.write("survived\n");
arena.close();
