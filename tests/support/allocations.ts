/**
 * What the concurrency tests write into allocations and how they check them.
 *
 * Every allocation is stamped from who made it (`tag`: a child, Worker or
 * process index) and which one it was (`sequence`), byte by byte: byte i depends
 * on i too, so a block copied or shifted onto another place does not read as
 * intact. The checker proves a set of allocations disjoint, 8-aligned, in bounds
 * and still carrying their stamps, and returns what it finds instead of
 * asserting, so that a test of a broken variant can require it to be caught.
 */
import { readFileSync } from "node:fs";

/** The byte at index `i` of the allocation stamped with (`tag`, `sequence`). */
export function stampByte(tag: number, sequence: number, i: number): number {
  return (tag * 131 + sequence * 31 + i * 7 + 1) & 0xff;
}

export function fillStamp(view: Uint8Array, tag: number, sequence: number): void {
  for (let i = 0; i < view.length; i++) view[i] = stampByte(tag, sequence, i);
}

export interface AllocationRecord {
  offset: number;
  size: number;
  tag: number;
  sequence: number;
}

/** One allocation as a line of text (no newline): "offset size tag sequence". */
export function formatRecord(record: AllocationRecord): string {
  return `${record.offset} ${record.size} ${record.tag} ${record.sequence}`;
}

/** The records in `text`, one per line as formatRecord writes them; other lines are skipped. */
export function parseRecords(text: string): AllocationRecord[] {
  const records: AllocationRecord[] = [];
  for (const line of text.split("\n")) {
    const parts = line.trim().split(" ");
    if (parts.length !== 4) continue;
    const [offset, size, tag, sequence] = parts.map(Number) as [number, number, number, number];
    records.push({ offset, size, tag, sequence });
  }
  return records;
}

/**
 * Proves allocations disjoint, 8-aligned, inside [dataStart, end) and carrying
 * their stamps in `bytes` (the arena's bytes from offset 0: the file, or a view
 * of the mapping). Empty allocations are skipped. Returns the problems found (at
 * most `limit`), empty when all hold.
 */
export function checkAllocations(
  bytes: Uint8Array,
  records: AllocationRecord[],
  dataStart: number,
  end: number,
  limit = 10,
): string[] {
  const problems: string[] = [];
  const add = (problem: string) => {
    if (problems.length < limit) problems.push(problem);
  };
  const sorted = records.filter((r) => r.size > 0).sort((a, b) => a.offset - b.offset);
  let previous: AllocationRecord | undefined;
  for (const record of sorted) {
    if (record.offset % 8 !== 0) add(`offset ${record.offset} is not 8-aligned`);
    if (record.offset < dataStart || record.offset + record.size > end) {
      add(`[${record.offset}, +${record.size}) is outside [${dataStart}, ${end})`);
    }
    if (previous !== undefined && previous.offset + previous.size > record.offset) {
      add(`overlap: [${previous.offset}, +${previous.size}) tag ${previous.tag} and [${record.offset}, +${record.size}) tag ${record.tag}`);
    }
    previous = record;
    for (let i = 0; i < record.size; i++) {
      if (bytes[record.offset + i] !== stampByte(record.tag, record.sequence, i)) {
        add(`stamp of tag ${record.tag} seq ${record.sequence} at ${record.offset} broken at byte ${i}`);
        break;
      }
    }
  }
  return problems;
}

/** What a child process reports: its index and its allocations ([offset, size]) in order. */
export interface ChildAllocations {
  child: number;
  allocations: [number, number][];
}

/** The reports as records: tag = child index, sequence = position in its list. */
export function recordsOf(reports: ChildAllocations[]): AllocationRecord[] {
  return reports.flatMap(({ child, allocations }) =>
    allocations.map(([offset, size], sequence) => ({ offset, size, tag: child, sequence })),
  );
}

/**
 * Every property a correct arena guarantees for the allocations its children
 * reported, read from the file after every opener closed (never through a
 * mapping: a file that a bug shrank then reads short instead of killing the test
 * runner with SIGBUS): checkAllocations over [headerOffset + 32, bumpPtr), every
 * problem listed; the file shrunk to bumpPtr by the last close; and, unless
 * `sizeIsSum` is false (allocators that may lose bytes), bumpPtr equal to the
 * header's end plus the rounded sizes.
 */
export function findViolationsInFile(
  path: string,
  headerOffset: number,
  reports: ChildAllocations[],
  { sizeIsSum = true }: { sizeIsSum?: boolean } = {},
): string[] {
  const file = new Uint8Array(readFileSync(path));
  if (file.length < headerOffset + 32) return [`the file is ${file.length} bytes, too short for its header`];
  const bumpPtr = Number(new DataView(file.buffer).getBigUint64(headerOffset, true));
  const firstOffset = headerOffset + 32;
  const records = recordsOf(reports);
  const problems = checkAllocations(file, records, firstOffset, Math.min(bumpPtr, file.length), Number.POSITIVE_INFINITY);
  if (file.length !== bumpPtr) problems.push(`the file is ${file.length} bytes, bumpPtr is ${bumpPtr}: not shrunk by the last close`);
  const roundedTotal = records.reduce((sum, record) => sum + Math.ceil(record.size / 8) * 8, 0);
  if (sizeIsSum && bumpPtr !== firstOffset + roundedTotal) {
    problems.push(`bumpPtr ${bumpPtr} != header end ${firstOffset} + rounded sizes ${roundedTotal}`);
  }
  return problems;
}
