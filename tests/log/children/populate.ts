/**
 * populateMapping on an arena's mapping, in a child so that a shim that crashed
 * on a misaligned address (a safety panic, SIGSEGV) could not take the runner.
 *
 *   bun populate.ts PATH
 *
 * Prints one JSON line: {aligned, misaligned, readBack}: the errno of each call,
 * and whether a byte stored before the advice is still there after it.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { populateMapping } from "../../../lib/native/native.ts";

const [path] = process.argv.slice(2);
using arena = MappedFileRegionArena.create(path!, { capacity: 1 << 20 });
const start = Math.ceil(arena.allocateOffset(3 * 4096) / 4096) * 4096;
const view = arena.bytes(start, 2 * 4096);
view[5] = 42;
const aligned = populateMapping(view, "write");
const misaligned = populateMapping(view.subarray(1), "write");
process.stdout.write(`${JSON.stringify({ aligned, misaligned, readBack: view[5] })}\n`);
