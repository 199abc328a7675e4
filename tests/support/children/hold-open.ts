// Child: opens the arena, says "open", and keeps it open until told "close" on stdin.
import { MappedFileRegionArena } from "../../../lib/index.ts";

const [path, capacity] = process.argv.slice(2);
const arena = MappedFileRegionArena.create(path!, { capacity: Number(capacity) });
process.stdout.write("open\n");
for await (const line of console) {
  if (line.trim() === "close") break;
}
arena.close();
