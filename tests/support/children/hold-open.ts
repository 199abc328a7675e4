// Child: opens the arena, says "open", and keeps it open until told "close" on stdin.
// argv: path, capacity, optional header offset (default 0).
import { MappedFileRegionArena } from "../../../lib/index.ts";

const [path, capacity, headerOffset] = process.argv.slice(2);
const arena = MappedFileRegionArena.create(path!, { capacity: Number(capacity), headerOffset: Number(headerOffset ?? 0) });
process.stdout.write("open\n");
for await (const line of console) {
  if (line.trim() === "close") break;
}
arena.close();
