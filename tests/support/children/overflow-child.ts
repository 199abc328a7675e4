/**
 * argv: arena path, capacity, tries. Opens an arena whose bump pointer the parent
 * set far past the capacity, then tries `tries` allocations of the whole capacity
 * (each one pushes the word by that much if nothing settles it back) followed by
 * small ones through allocate(), which makes a view: with a wrapped, negative
 * offset on an arena of more than 4 GiB that view started before the mapping and
 * killed the process. Prints one JSON line: how create ended, what the
 * allocations returned, and the header word before the close.
 */
import { ArenaError, MappedFileRegionArena } from "../../../lib/index.ts";

const [path, capacityText, triesText] = process.argv.slice(2) as [string, string, string];
const capacity = Number(capacityText);
const tries = Number(triesText);

function outcome(run: () => number): string {
  try {
    return `returned ${run()}`;
  } catch (error) {
    return error instanceof ArenaError ? error.code : `${(error as Error).name}: ${(error as Error).message}`;
  }
}

let arena: MappedFileRegionArena;
try {
  arena = MappedFileRegionArena.create(path, { capacity });
} catch (error) {
  const { code, message } = error as ArenaError;
  process.stdout.write(`${JSON.stringify({ create: code, message })}\n`);
  process.exit(0);
}
const outcomes = new Set<string>();
for (let attempt = 0; attempt < tries; attempt++) outcomes.add(outcome(() => arena.allocateOffset(capacity)));
for (let attempt = 0; attempt < 16; attempt++) outcomes.add(outcome(() => arena.allocate(64).fill(1).length));
const header = new BigUint64Array(arena.bytes(0, 8).slice().buffer);
const size = arena.size;
arena.close();
process.stdout.write(`${JSON.stringify({ create: "ok", outcomes: [...outcomes], size, bumpPtr: header[0]!.toString() })}\n`);
