/**
 * A record log on a small tmpfs (tests/log/disk-full.test.ts): appends until the
 * disk is full, appends again (each refused claim must move nothing), frees the
 * spare file made at the start, appends more, then follows from 0 and counts.
 * Prints one JSON report.
 *
 *   bun disk-full-log.ts LOG_PATH SPARE_PATH
 */
import { rmSync, writeFileSync } from "node:fs";
import { ArenaError, RecordLog } from "../../../lib/index.ts";

const [path, sparePath] = process.argv.slice(2) as [string, string];
writeFileSync(sparePath, new Uint8Array(1 << 20).fill(1)); // 1 MiB to give back later
const options = { capacity: 64 << 20, blockSize: 64 * 1024 };
const writer = RecordLog.open(path, options);
const record = (sequence: number) => new Uint8Array(1000).fill(sequence & 0xff);

let appended = 0;
let failure: { code: string } | undefined;
for (; appended < 100_000; appended++) {
  try {
    writer.append(record(appended));
  } catch (error) {
    failure = { code: (error as ArenaError).code };
    break;
  }
}
const blocksAtFailure = writer.stats().blocks;
const retries: string[] = [];
for (let i = 0; i < 5; i++) {
  try {
    writer.append(record(appended));
    retries.push("appended");
  } catch (error) {
    retries.push((error as ArenaError).code);
  }
}
const blocksAfterRetries = writer.stats().blocks;
rmSync(sparePath);
let appendedAfter = 0;
for (; appendedAfter < 10; appendedAfter++) writer.append(record(appended + appendedAfter));

const reader = RecordLog.open(path, options);
const total = appended + appendedAfter;
const stop = new AbortController();
const timer = setTimeout(() => stop.abort(), 30_000);
let read = 0;
let inOrder = true;
for await (const { bytes } of reader.follow(0, { signal: stop.signal })) {
  if (bytes[0] !== (read & 0xff) || bytes.length !== 1000) inOrder = false;
  if (++read === total) break;
}
clearTimeout(timer);
const stats = reader.stats();
console.log(JSON.stringify({ appended, failure, blocksAtFailure, retries, blocksAfterRetries, appendedAfter, total, read, inOrder, holes: stats.holes.count }));
writer.close();
reader.close();
