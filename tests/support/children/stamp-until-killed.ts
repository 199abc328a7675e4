/**
 * Child process for tests/crash.test.ts: appends fixed-size records, and
 * after each one is completely written, publishes how many it has finished in its
 * progress word. The parent kills it with SIGKILL at an arbitrary moment.
 *
 *   bun stamp-until-killed.ts PATH CHILD_INDEX CHILDREN
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { barrier, progressWords, testHeaderOffset } from "../barrier.ts";
import { recordSizeBytes, writeRecord } from "../records.ts";

const [path, childText, childrenText] = process.argv.slice(2);
const child = Number(childText);
const arena = MappedFileRegionArena.create(path!, { capacity: 256 * 1024 * 1024, headerOffset: testHeaderOffset });
const progress = progressWords(arena, Number(childrenText));
barrier(arena).arriveAndWait();
// Far more than the parent waits for, far less than the capacity: a parent slowed
// down by a loaded machine then finds writers waiting to be killed, not failing on
// a full arena.
const maxRecords = 500_000;
for (let sequence = 0; sequence < maxRecords; sequence++) {
  writeRecord(arena.allocate(recordSizeBytes), child, sequence);
  Atomics.store(progress, child, BigInt(sequence + 1));
}
for (;;) Bun.sleepSync(1000);
