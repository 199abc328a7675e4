/**
 * A multi-process append-only log, and readers that follow it while it grows.
 *
 *   bun examples/log.ts                          4 writers x 20000 records
 *   bun examples/log.ts --writers 2 --records 500 --path /tmp/my.log
 *   bun examples/log.ts follow /tmp/my.log       follow a log from another terminal (Ctrl-C stops);
 *                                                read-only: it never writes to the log, waits for
 *                                                a writer to create it, and prints records of any
 *                                                other format as text (or hex)
 *
 * Several writer processes append records to one RecordLog at once, with no lock
 * (each opens it with RecordLog.open; the first creates it, with its capacity).
 * This process shows a live progress line; a separate follower process reads every
 * record as soon as it is committed and checks that each writer's records arrive
 * complete and in order. Everything about blocks, commits and dead writers is the
 * log's business (docs/log.md): a writer appends bytes, a reader iterates records.
 *
 * Record payload (little-endian): u32 writer, u32 sequence number, then UTF-8 text.
 */
import { parseArgs } from "node:util";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RecordLog } from "../lib/index.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });
const capacity = 1 << 30; // sparse: the file only takes the disk its records use

const message = (writer: number, sequence: number) => `writer ${writer} says hello for the ${sequence}th time`;

function encodeRecord(writer: number, sequence: number, text: string): Uint8Array {
  const bytes = new Uint8Array(8 + text.length * 3);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, writer, true);
  view.setUint32(4, sequence, true);
  const { written } = encoder.encodeInto(text, bytes.subarray(8));
  return bytes.subarray(0, 8 + written);
}

function runWriter(path: string, writer: number, records: number): void {
  using log = RecordLog.open(path, { capacity });
  for (let sequence = 0; sequence < records; sequence++) log.append(encodeRecord(writer, sequence, message(writer, sequence)));
}

/** This example's record, or undefined for a record it did not write (another program's log). */
function decodeOwnRecord(bytes: Uint8Array): { writer: number; sequence: number; text: string } | undefined {
  if (bytes.length < 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const record = { writer: view.getUint32(0, true), sequence: view.getUint32(4, true), text: decoder.decode(bytes.subarray(8)) };
  return record.text === message(record.writer, record.sequence) ? record : undefined;
}

/** Any other record, plainly: its text if it is UTF-8 (control characters escaped), else its bytes in hex. */
function describeForeignRecord(bytes: Uint8Array): string {
  try {
    const text = strictDecoder.decode(bytes);
    return text.replace(/[\x00-\x1f\x7f\\]/g, (c) => (c === "\\" ? "\\\\" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
  } catch {
    return `(${bytes.length} bytes, not UTF-8) ${Buffer.from(bytes).toString("hex")}`;
  }
}

/**
 * Follows the log until `expected` records were read (or until Ctrl-C), checking
 * each writer's order. A reader never writes: it opens the log read-only, and
 * waits for a writer to create it if it is not there yet (RecordLog.waitForLog).
 */
async function runFollower(path: string, expected: number | undefined): Promise<void> {
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => stop.abort());
  if (!existsSync(path)) console.error(`waiting for a writer to create ${path} (Ctrl-C stops)`);
  let opened: RecordLog;
  try {
    opened = await RecordLog.waitForLog(path, { timeoutMs: Infinity, signal: stop.signal });
  } catch (error) {
    if (stop.signal.aborted) return; // Ctrl-C before any writer came
    throw error;
  }
  using log = opened;
  if (expected === undefined) console.error(`following ${path} (Ctrl-C stops)`);
  const nextSequence = new Map<number, number>();
  let count = 0;
  let foreign = 0;
  let problems = 0;
  for await (const { position, bytes } of log.follow(0, { signal: stop.signal })) {
    count++;
    const record = decodeOwnRecord(bytes);
    if (record === undefined) {
      foreign++;
      if (expected === undefined) console.log(`${position}\t${describeForeignRecord(bytes)}`);
      else problems++; // the run's own log holds only its writers' records
    } else {
      if (record.sequence !== (nextSequence.get(record.writer) ?? 0)) problems++;
      nextSequence.set(record.writer, record.sequence + 1);
      if (expected === undefined) console.log(`${position}\twriter ${record.writer}\t#${record.sequence}\t${record.text}`);
    }
    if (count === expected) stop.abort();
  }
  const perWriter = [...nextSequence.entries()].sort(([a], [b]) => a - b).map(([writer, n]) => `${writer}:${n}`);
  const others = expected === undefined && foreign > 0 ? `, ${foreign} in other formats` : "";
  const writers = perWriter.length > 0 ? ` (per writer ${perWriter.join(" ")})` : "";
  console.log(`follower: read ${count} records${writers}${others}, ${problems} out of order or damaged`);
  if (problems > 0) process.exitCode = 1;
}

async function runCoordinator(options: { writers: number; records: number; path: string | undefined }): Promise<void> {
  const { writers, records } = options;
  const temporary = options.path === undefined ? mkdtempSync(join(tmpdir(), "mfa-log-")) : undefined;
  const path = options.path ?? join(temporary!, "example.log");
  const total = writers * records;
  using log = RecordLog.open(path, { capacity });
  const start = performance.now();

  const self = import.meta.path;
  const spawnChild = (args: string[]) => Bun.spawn([process.execPath, self, ...args], { stdout: "pipe", stderr: "inherit" });
  const follower = spawnChild(["follow", path, "--expect", String(total)]);
  const children = Array.from({ length: writers }, (_, writer) =>
    spawnChild(["write", path, "--writer", String(writer), "--records", String(records)]),
  );

  // The live progress line: this process follows the log too, counting records.
  const live = process.stdout.isTTY === true;
  let seen = 0;
  let bytes = 0;
  let lastQuarter = -1;
  let lastDrawn = 0;
  const report = (final: boolean) => {
    const seconds = (performance.now() - start) / 1000;
    const line = `log: ${seen}/${total} records, ${(bytes / 1024).toFixed(0)} KiB, ${Math.round(seen / Math.max(seconds, 0.001))} records/s`;
    const quarter = Math.floor((seen / total) * 4);
    if (live) process.stdout.write(`\r${line}${final ? "\n" : ""}`);
    else if (quarter > lastQuarter) console.log(line); // in a pipe: one line per quarter
    lastQuarter = quarter;
  };
  const stop = new AbortController();
  for await (const record of log.follow(0, { signal: stop.signal })) {
    seen++;
    bytes += record.bytes.length;
    if (seen === total) stop.abort();
    else if (performance.now() - lastDrawn > 50) {
      lastDrawn = performance.now();
      report(false);
    }
  }
  report(true);

  const codes = await Promise.all(children.map((child) => child.exited));
  const followerOutput = await new Response(follower.stdout).text();
  const followerCode = await follower.exited;
  process.stdout.write(followerOutput);
  const failed = codes.filter((code) => code !== 0).length + (followerCode === 0 ? 0 : 1);
  const { committed, blocks, holes, abandoned } = log.stats();
  console.log(
    `${writers} writers appended ${committed.count} records (${committed.bytes} bytes) to ${path}: ` +
      `${blocks} blocks, ${holes.count} holes, ${abandoned.count} abandoned${failed ? `; ${failed} processes failed` : ""}`,
  );
  if (failed) process.exitCode = 1;
  log.close();
  if (temporary !== undefined) rmSync(temporary, { recursive: true, force: true });
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    writers: { type: "string", default: process.env.LOG_WRITERS ?? "4" },
    records: { type: "string", default: process.env.LOG_RECORDS ?? "20000" },
    path: { type: "string" },
    writer: { type: "string", default: "0" },
    expect: { type: "string" },
  },
});
const [mode = "run", path] = positionals;
if (mode === "write") runWriter(path!, Number(values.writer), Number(values.records));
else if (mode === "follow") await runFollower(path!, values.expect === undefined ? undefined : Number(values.expect));
else await runCoordinator({ writers: Number(values.writers), records: Number(values.records), path: values.path });
