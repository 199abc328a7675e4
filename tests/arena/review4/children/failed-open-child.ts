/**
 * Child for tests/arena/review4/failed-open.test.ts.
 *
 *   bun failed-open-child.ts make PATH CAPACITY   creates, appends 100 bytes, closes (the file shrinks)
 *   bun failed-open-child.ts open PATH CAPACITY   create() again (run under ulimit -v: mmap fails)
 * Prints {code} of the open's failure, or {opened: true}.
 */
import { MappedFileRegionArena } from "../../../../lib/index.ts";

const [mode, path, capacityText] = process.argv.slice(2) as [string, string, string];
const capacity = Number(capacityText);
if (mode === "make") {
  using arena = MappedFileRegionArena.create(path, { capacity });
  arena.append(new Uint8Array(100));
} else {
  try {
    MappedFileRegionArena.create(path, { capacity }).close();
    console.log(JSON.stringify({ opened: true }));
  } catch (error) {
    console.log(JSON.stringify({ code: (error as { code?: string }).code }));
  }
}
