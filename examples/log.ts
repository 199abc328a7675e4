/**
 * A multi-process append-only log, and a reader that follows it while it grows.
 *
 *   bun examples/log.ts                          4 writers x 20000 records
 *   bun examples/log.ts --writers 2 --records 500 --path /tmp/my.log
 *   bun examples/log.ts follow /tmp/my.log       follow a log from another terminal (Ctrl-C stops)
 *
 * Several writer processes append records to one arena file at once, with no lock:
 * each record is one allocation (an atomic add on the bump pointer), so records
 * never overlap and never tear. This process shows a live progress line; a
 * separate follower process reads every record as soon as it is committed and
 * checks that each writer's records arrive complete and in order.
 *
 * Following a log needs one rule: a record is allocated before it is written, so a
 * reader can see the bump pointer pass a record that is still being filled in. The
 * writer therefore stores the record's length word last, with Atomics.store, and a
 * reader waits while that word is still 0. Records are laid out back to back (each
 * rounded up to 8 bytes), so the next one starts right after the current one.
 *
 * Record layout (little-endian): u32 payload length (the commit word), u32 writer,
 * u32 sequence number, u32 zero, then the payload (UTF-8 text).
 */
import { parseArgs } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MappedFileRegionArena } from "../lib/index.ts";

const recordHeaderBytes = 16;
const headerOffset = 0;
const firstRecordOffset = headerOffset + 32; // right after the arena's 32-byte header
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function openLog(path: string, capacity: number): MappedFileRegionArena {
  return MappedFileRegionArena.create(path, { capacity, headerOffset });
}

// ---- writing -------------------------------------------------------------------

/** Appends one record. The length word is written last: until then readers wait. */
function appendRecord(log: MappedFileRegionArena, writer: number, sequence: number, text: string): void {
  const payload = encoder.encode(text);
  const record = log.allocate(recordHeaderBytes + payload.length);
  record.set(payload, recordHeaderBytes);
  const words = new DataView(record.buffer, record.byteOffset, recordHeaderBytes);
  words.setUint32(4, writer, true);
  words.setUint32(8, sequence, true);
  // Commit: an atomic store, so a reader that sees the length also sees the rest.
  Atomics.store(new Int32Array(record.buffer, record.byteOffset, 1), 0, payload.length);
}

function runWriter(path: string, capacity: number, writer: number, records: number): void {
  using log = openLog(path, capacity);
  for (let sequence = 0; sequence < records; sequence++) {
    appendRecord(log, writer, sequence, `writer ${writer} says hello for the ${sequence}th time`);
  }
}

// ---- following -----------------------------------------------------------------

interface LogRecord {
  offset: number;
  writer: number;
  sequence: number;
  text: string;
}

/**
 * Reads records from `offset` on, as long as they are committed. Returns where the
 * next record will start; call it again later to continue where it stopped.
 */
function readCommitted(log: MappedFileRegionArena, offset: number, onRecord: (record: LogRecord) => void): number {
  while (offset + recordHeaderBytes <= log.size) {
    const head = log.bytes(offset, recordHeaderBytes);
    const length = Atomics.load(new Int32Array(head.buffer, head.byteOffset, 1), 0);
    if (length === 0) break; // allocated, not yet written: wait for it
    const words = new DataView(head.buffer, head.byteOffset, recordHeaderBytes);
    const text = decoder.decode(log.bytes(offset + recordHeaderBytes, length));
    onRecord({ offset, writer: words.getUint32(4, true), sequence: words.getUint32(8, true), text });
    offset += Math.ceil((recordHeaderBytes + length) / 8) * 8;
  }
  return offset;
}

/** Follows the log until `expected` records were read (or forever), checking their order. */
async function runFollower(path: string, capacity: number, expected: number | undefined): Promise<void> {
  using log = openLog(path, capacity);
  const nextSequence = new Map<number, number>();
  let offset = firstRecordOffset;
  let count = 0;
  let problems = 0;
  while (expected === undefined || count < expected) {
    const before = offset;
    offset = readCommitted(log, offset, (record) => {
      count++;
      const wanted = nextSequence.get(record.writer) ?? 0;
      const text = `writer ${record.writer} says hello for the ${record.sequence}th time`;
      if (record.sequence !== wanted || record.text !== text) problems++;
      nextSequence.set(record.writer, record.sequence + 1);
      if (expected === undefined) console.log(`${record.offset}\twriter ${record.writer}\t#${record.sequence}\t${record.text}`);
    });
    if (offset === before) await Bun.sleep(1); // nothing new yet
  }
  const perWriter = [...nextSequence.entries()].sort(([a], [b]) => a - b).map(([writer, n]) => `${writer}:${n}`);
  console.log(`follower: read ${count} records (per writer ${perWriter.join(" ")}), ${problems} out of order or damaged`);
  if (problems > 0) process.exitCode = 1;
}

// ---- the coordinator -------------------------------------------------------------

async function runCoordinator(options: { writers: number; records: number; path: string | undefined }): Promise<void> {
  const { writers, records } = options;
  const temporary = options.path === undefined ? mkdtempSync(join(tmpdir(), "mfa-log-")) : undefined;
  const path = options.path ?? join(temporary!, "example.log");
  // Generous and sparse: the file only takes the disk its records use.
  const capacity = Math.max(1 << 20, writers * records * 96);
  const total = writers * records;
  using log = openLog(path, capacity);
  const start = performance.now();

  const self = import.meta.path;
  const spawnChild = (args: string[]) =>
    Bun.spawn([process.execPath, self, ...args], { stdout: "pipe", stderr: "inherit" });
  const follower = spawnChild(["follow", path, "--capacity", String(capacity), "--expect", String(total)]);
  const children = Array.from({ length: writers }, (_, writer) =>
    spawnChild(["write", path, "--capacity", String(capacity), "--writer", String(writer), "--records", String(records)]),
  );

  // The live progress line: this process follows the log too, counting records.
  const live = process.stdout.isTTY === true;
  let offset = firstRecordOffset;
  let seen = 0;
  let lastReported = -1;
  const report = (final: boolean) => {
    const seconds = (performance.now() - start) / 1000;
    const line = `log: ${seen}/${total} records, ${(log.size / 1024).toFixed(0)} KiB, ${Math.round(seen / Math.max(seconds, 0.001))} records/s`;
    const quarter = Math.floor((seen / total) * 4);
    if (live) process.stdout.write(`\r${line}${final ? "\n" : ""}`);
    else if (quarter > lastReported) console.log(line); // in a pipe: one line per quarter
    lastReported = quarter;
  };
  while (seen < total) {
    offset = readCommitted(log, offset, () => seen++);
    report(false);
    await Bun.sleep(live ? 50 : 5);
  }
  report(true);

  const codes = await Promise.all(children.map((child) => child.exited));
  const followerOutput = await new Response(follower.stdout).text();
  const followerCode = await follower.exited;
  process.stdout.write(followerOutput);
  const failed = codes.filter((code) => code !== 0).length + (followerCode === 0 ? 0 : 1);
  console.log(`${writers} writers appended ${total} records (${log.size} bytes) to ${path}${failed ? `; ${failed} processes failed` : ""}`);
  if (failed) process.exitCode = 1;
  log.close();
  if (temporary !== undefined) rmSync(temporary, { recursive: true, force: true });
}

// ---- command line -----------------------------------------------------------------

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    writers: { type: "string", default: process.env.LOG_WRITERS ?? "4" },
    records: { type: "string", default: process.env.LOG_RECORDS ?? "20000" },
    path: { type: "string" },
    capacity: { type: "string", default: String(64 << 20) },
    writer: { type: "string", default: "0" },
    expect: { type: "string" },
  },
});
const [mode = "run", path] = positionals;
const capacity = Number(values.capacity);
if (mode === "write") runWriter(path!, capacity, Number(values.writer), Number(values.records));
else if (mode === "follow") await runFollower(path!, capacity, values.expect === undefined ? undefined : Number(values.expect));
else await runCoordinator({ writers: Number(values.writers), records: Number(values.records), path: values.path });
