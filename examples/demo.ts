/**
 * Several processes append records to one arena at the same time; then one reader
 * walks the arena and verifies every record.
 *
 *   bun run demo                    4 writers x 50,000 records
 *   bun examples/demo.ts [WRITERS] [RECORDS_PER_WRITER]
 *
 * Each record is [length u32][writer u32][sequence u32][checksum u32][payload],
 * appended with one arena.append() call, so the records of all writers interleave
 * but never overlap, and the arena can be walked from front to back.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MappedFileRegionArena } from "../lib/index.ts";

const capacity = 1024 * 1024 * 1024; // 1 GiB of address space; disk follows use
const recordHeaderBytes = 16;

function payloadLength(writer: number, sequence: number): number {
  return 8 + ((writer * 7 + sequence * 13) % 100);
}

function checksum(writer: number, sequence: number, length: number): number {
  return (Math.imul(writer + 1, 0x9e3779b1) ^ Math.imul(sequence + 1, 0x85ebca6b) ^ length) >>> 0;
}

function runWriter(path: string, writer: number, records: number): void {
  using arena = MappedFileRegionArena.create(path, { capacity });
  const record = new Uint8Array(recordHeaderBytes + 128);
  const view = new DataView(record.buffer);
  for (let sequence = 0; sequence < records; sequence++) {
    const length = recordHeaderBytes + payloadLength(writer, sequence);
    view.setUint32(0, length, true);
    view.setUint32(4, writer, true);
    view.setUint32(8, sequence, true);
    view.setUint32(12, checksum(writer, sequence, length), true);
    record.fill(writer + 1, recordHeaderBytes, length);
    arena.append(record.subarray(0, length));
  }
}

function verify(path: string, writers: number, records: number) {
  using arena = MappedFileRegionArena.create(path, { capacity });
  const nextSequence = new Array<number>(writers).fill(0);
  let offset = arena.headerOffset + 32;
  let count = 0;
  while (offset < arena.size) {
    const head = arena.bytes(offset, recordHeaderBytes);
    const view = new DataView(head.buffer, head.byteOffset, recordHeaderBytes);
    const length = view.getUint32(0, true);
    const writer = view.getUint32(4, true);
    const sequence = view.getUint32(8, true);
    if (writer >= writers || view.getUint32(12, true) !== checksum(writer, sequence, length)) {
      throw new Error(`bad record at offset ${offset}`);
    }
    // One writer's records appear in its own order, whatever the interleaving.
    if (sequence !== nextSequence[writer]) throw new Error(`writer ${writer}: record ${sequence} out of order`);
    nextSequence[writer] = sequence + 1;
    if (!arena.bytes(offset + recordHeaderBytes, length - recordHeaderBytes).every((byte) => byte === writer + 1)) {
      throw new Error(`writer ${writer} record ${sequence}: payload damaged`);
    }
    offset += Math.ceil(length / 8) * 8;
    count++;
  }
  if (nextSequence.some((next) => next !== records)) throw new Error(`missing records: ${nextSequence}`);
  return { count, size: arena.size };
}

async function main(): Promise<void> {
  const writers = Number(process.argv[2] ?? 4);
  const records = Number(process.argv[3] ?? 50_000);
  const directory = mkdtempSync(join(tmpdir(), "arena-demo-"));
  const path = join(directory, "demo.arena");
  try {
    console.log(`${writers} processes append ${records.toLocaleString()} records each to ${path}`);
    const started = performance.now();
    const children = Array.from({ length: writers }, (_, writer) =>
      Bun.spawn([process.execPath, import.meta.path, "--writer", path, String(writer), String(records)], {
        stdout: "inherit",
        stderr: "inherit",
      }),
    );
    const exitCodes = await Promise.all(children.map((child) => child.exited));
    if (exitCodes.some((code) => code !== 0)) throw new Error(`a writer failed: exit codes ${exitCodes}`);
    const writeMs = performance.now() - started;

    const verifyStarted = performance.now();
    const { count, size } = verify(path, writers, records);
    const verifyMs = performance.now() - verifyStarted;
    const { size: fileBytes, blocks } = statSync(path);
    console.log(`verified ${count.toLocaleString()} records from ${writers} writers: all present, in order, intact`);
    console.log(`writing took ${writeMs.toFixed(0)} ms (${Math.round(count / (writeMs / 1000)).toLocaleString()} records/s, process start-up included)`);
    console.log(`verifying took ${verifyMs.toFixed(0)} ms`);
    console.log(`arena size ${size.toLocaleString()} bytes of ${capacity.toLocaleString()} capacity`);
    console.log(`file size ${fileBytes.toLocaleString()} bytes (shrunk to size by the last close), disk use ${(blocks * 512).toLocaleString()} bytes`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--writer") {
  const [path, writer, records] = process.argv.slice(3);
  runWriter(path!, Number(writer), Number(records));
} else {
  await main();
}
