/**
 * Child process for tests/create-race.test.ts: waits on the start barrier in the
 * arena at START_PATH, then creates the arena at PATH, and prints "created" if its
 * onCreate ran ("opened" if not), then how long create() took in ms.
 *
 *   bun race-to-create.ts PATH START_PATH RACERS
 *
 * Each racer counts itself in (START_PATH's first progress word) just before it
 * calls create(); the creator's onCreate waits until all RACERS have, then holds
 * the exclusive lock 50 ms more. So every other racer is inside create() while
 * the creator works, and waits for it, on any machine: the race is certain.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { barrier, progressWords, testHeaderOffset } from "../barrier.ts";

const [path, startPath, racersText] = process.argv.slice(2);
const racers = BigInt(racersText!);
const start = MappedFileRegionArena.create(startPath!, { capacity: 4096, headerOffset: testHeaderOffset });
const calling = progressWords(start, 1);
barrier(start).arriveAndWait();

let created = false;
const started = performance.now();
Atomics.add(calling, 0, 1n);
const arena = MappedFileRegionArena.create(path!, {
  capacity: 1024 * 1024,
  headerOffset: 8,
  onCreate(fresh) {
    created = true;
    fresh.append(new TextEncoder().encode(`created by ${process.pid}`));
    const deadline = Date.now() + 30_000;
    while (Atomics.load(calling, 0) < racers) {
      if (Date.now() > deadline) throw new Error("the other racers did not call create() within 30 s");
      Bun.sleepSync(1);
    }
    Bun.sleepSync(50); // and then some: the others are queued on the lock
  },
});
const createMs = performance.now() - started;
arena.append(new Uint8Array(8).fill(1));
process.stdout.write(`${created ? "created" : "opened"} ${createMs.toFixed(1)}`);
arena.close();
start.close();
