/**
 * Child of lifecycle.windows.ts: takes a window of the arena away with
 * ArrayBuffer.prototype.transfer, closes the arena, reads the taken buffer, and
 * prints what it saw as JSON. In a child, because on Windows the view under a taken
 * window stays mapped until the process exits (lib/arena/platform.ts).
 */
import { statSync } from "node:fs";
import { MappedFileRegionArena } from "../../../lib/index.ts";

const path = process.argv[2]!;
const arena = MappedFileRegionArena.create(path, { capacity: 1024 * 1024 });
const kept = arena.allocate(16);
const offset = arena.append(new TextEncoder().encode("still here"));
const escaped = new Uint8Array((kept.buffer as ArrayBuffer).transfer()); // takes the window with it
arena.close();
process.stdout.write(
  JSON.stringify({
    closed: arena.closed,
    keptLength: kept.length,
    escapedText: new TextDecoder().decode(escaped.subarray(offset, offset + 10)),
    sizeWhileAlive: statSync(path).size,
  }),
);
