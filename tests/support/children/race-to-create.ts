/**
 * Child process for tests/create-race.test.ts: waits until START_AT (ms since the
 * epoch), creates the arena, and prints "created" if its onCreate ran ("opened"
 * if not), then how long create() took in ms.
 *
 *   bun race-to-create.ts PATH START_AT
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";

const [path, startAtText] = process.argv.slice(2);
const startAt = Number(startAtText);
while (Date.now() < startAt) {
  // Spin: sleeping would let the processes start in a row instead of together.
}
let created = false;
const started = performance.now();
const arena = MappedFileRegionArena.create(path!, {
  capacity: 1024 * 1024,
  headerOffset: 8,
  onCreate(fresh) {
    created = true;
    fresh.append(new TextEncoder().encode(`created by ${process.pid}`));
    Bun.sleepSync(50); // hold the exclusive lock long enough for the others to queue up
  },
});
const createMs = performance.now() - started;
arena.append(new Uint8Array(8).fill(1));
process.stdout.write(`${created ? "created" : "opened"} ${createMs.toFixed(1)}`);
arena.close();
