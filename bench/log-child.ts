/**
 * Child process of bench/log.ts.
 *
 *   bun log-child.ts write PATH RECORDS MODE START_AT_MS
 *     Appends RECORDS 64-byte records in MODE (log-append, log-batch, o-append,
 *     o-append-1000) once the wall clock reaches START_AT_MS; prints {start, end}.
 *   bun log-child.ts memory PATH RECORDS
 *     Appends RECORDS 64-byte records one by one, then reads them all with
 *     records(); prints the growth of anonymous RSS after each, and after a full
 *     collection, and of file-backed RSS (Linux).
 *   bun log-child.ts follow PATH RECORDS
 *     Follows the log; each record's first 8 bytes are the writer's wall-clock
 *     time (ms, float64) at append. Prints a line "ready", then after RECORDS
 *     records {latenciesUs, idleCpuPercent}: how long after each append it woke,
 *     and the CPU it used over 1 s of waiting with nothing to read.
 */
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { RecordLog } from "../lib/index.ts";

const now = () => performance.timeOrigin + performance.now();
const [command, path, recordsText, mode, startText] = process.argv.slice(2);
const records = Number(recordsText);
const capacity = 4 * 1024 ** 3;

/** RssAnon and RssFile from /proc/self/status, in bytes (0 where there is no /proc). */
function rss(): { anon: number; file: number } {
  try {
    const status = require("node:fs").readFileSync("/proc/self/status", "utf8") as string;
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return { anon: field("RssAnon"), file: field("RssFile") };
  } catch {
    return { anon: 0, file: 0 };
  }
}

if (command === "memory") {
  using log = RecordLog.open(path!, { capacity });
  const record = new Uint8Array(64).fill(5);
  Bun.gc(true);
  const before = rss();
  for (let i = 0; i < records; i++) log.append(record);
  const appended = rss();
  let bytes = 0;
  for (const { bytes: view } of log.records()) bytes += view.length;
  const scanned = rss();
  Bun.gc(true);
  const collected = rss();
  process.stdout.write(
    JSON.stringify({
      appendAnonBytes: appended.anon - before.anon,
      scanAnonBytes: scanned.anon - before.anon,
      collectedAnonBytes: collected.anon - before.anon,
      fileBytes: collected.file - before.file,
      read: bytes,
    }),
  );
} else if (command === "write") {
  const record = new Uint8Array(64).fill(3);
  const batchSize = 1000;
  const batch = Array.from({ length: batchSize }, () => record);
  const buffer = new Uint8Array(64 * batchSize).fill(3);
  let run: () => void;
  let close: () => void;
  if (mode!.startsWith("log")) {
    const log = RecordLog.open(path!, { capacity });
    run = mode === "log-append"
      ? () => { for (let i = 0; i < records; i++) log.append(record); }
      : () => { for (let i = 0; i < records; i += batchSize) log.appendBatch(batch); };
    close = () => log.close();
  } else {
    const fd = openSync(path!, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o644);
    run = mode === "o-append"
      ? () => { for (let i = 0; i < records; i++) writeSync(fd, record); }
      : () => {
          // 1000 records in hand, copied into one buffer and written: what a user does.
          for (let i = 0; i < records; i += batchSize) {
            for (let j = 0; j < batchSize; j++) buffer.set(batch[j]!, j * 64);
            writeSync(fd, buffer);
          }
        };
    close = () => closeSync(fd);
  }
  while (now() < Number(startText)) {}
  const start = now();
  run();
  const end = now();
  close();
  process.stdout.write(JSON.stringify({ start, end }));
} else {
  using log = RecordLog.open(path!, { capacity });
  const stop = new AbortController();
  const latenciesUs: number[] = [];
  process.stdout.write("ready\n");
  for await (const { bytes } of log.follow(0, { signal: stop.signal })) {
    latenciesUs.push((now() - new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true)) * 1000);
    if (latenciesUs.length === records) stop.abort();
  }
  const idle = new AbortController();
  setTimeout(() => idle.abort(), 1000);
  const before = process.cpuUsage();
  for await (const _ of log.follow(log.stats().blocks * log.blockSize + 4096, { signal: idle.signal })) {}
  const used = process.cpuUsage(before);
  process.stdout.write(JSON.stringify({ latenciesUs, idleCpuPercent: ((used.user + used.system) / 1000 / 1000) * 100 }));
}
