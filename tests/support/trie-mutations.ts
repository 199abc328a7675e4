/**
 * The corruption fuzzer's mutation engine: from a healthy trie file and its
 * layout (trie-layout.ts), a seeded random number generator makes one corrupt
 * file. Each mutation aims at one structure (a slot, a subtrie header, the table
 * header, the DatabaseFile or arena header) with values chosen to hit the edges a
 * reader must check: offsets in and out of bounds, misaligned, at the very end,
 * negative, pointing at the subtrie itself or an ancestor (a loop), at a record, at
 * a header. A case applies one to three mutations; its name lists them, so a
 * failing case says what was done to the file.
 */
import { arenaHeader, arenaHeaderAt, databaseHeader, subtrieHeader, tableHeader, type TrieLayout } from "./trie-layout.ts";

export type Random = () => number;

export interface Mutated {
  file: Uint8Array;
  /** What was done, for the failure message. */
  steps: string[];
}

const pick = <T>(random: Random, values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
const below = (random: Random, limit: number): number => Math.floor(random() * limit);

function writeI64(file: Uint8Array, at: number, value: bigint): void {
  new DataView(file.buffer, file.byteOffset, file.byteLength).setBigInt64(at, BigInt.asIntN(64, value), true);
}

/** An offset a reader must treat with suspicion: anywhere in the file, at its edges, past them, misaligned. */
function suspiciousOffset(random: Random, fileBytes: number, layout: TrieLayout): bigint {
  const recordBytes = layout.recordDataSize + layout.hashBytes;
  const choices: (() => bigint)[] = [
    () => BigInt(below(random, fileBytes)), // anywhere, usually misaligned
    () => BigInt(below(random, fileBytes >> 3) * 8), // anywhere aligned
    () => BigInt(fileBytes), // exactly at the end
    () => BigInt(fileBytes - 8), // a record crossing the end
    () => BigInt(fileBytes - recordBytes + 8),
    () => BigInt(fileBytes + 8 * below(random, 1 << 20)), // past the end, maybe inside the capacity
    () => 1n << BigInt(32 + below(random, 30)), // far past the end
    () => (1n << 63n) - 1n, // INT64_MAX
    () => BigInt(below(random, 64)), // inside the DatabaseFile or arena header
    () => BigInt(layout.tableAt + below(random, tableHeader.bytes)), // inside the table header
    () => BigInt(pick(random, layout.subtries).offset), // a subtrie, as if it were a record
    () => BigInt(pick(random, layout.records).recordOffset + 8 * (1 + below(random, 4))), // inside a record
  ];
  return pick(random, choices)();
}

type Mutation = (file: Uint8Array, layout: TrieLayout, random: Random) => string | Uint8Array;

const mutations = {
  flipBytes(file, layout, random) {
    const count = 1 + below(random, 8);
    const at: number[] = [];
    // Mostly in the trie itself (past the table header), where the open cannot catch it.
    const from = random() < 0.8 ? layout.tableAt + tableHeader.bytes : 0;
    for (let i = 0; i < count; i++) {
      const index = from + below(random, file.length - from);
      file[index] = file[index]! ^ (1 + below(random, 255));
      at.push(index);
    }
    return `flip bytes at ${at.join(",")}`;
  },
  truncate(file, _layout, random) {
    return file.slice(0, below(random, file.length));
  },
  truncateWithBumpPointer(file, layout, random) {
    // A consistent arena that lost its tail: slots may now point past the bump pointer.
    const length = layout.tableAt + 8 * below(random, (file.length - layout.tableAt) >> 3);
    const cut = file.slice(0, length);
    writeI64(cut, arenaHeaderAt + arenaHeader.bumpPtr, BigInt(length));
    return cut;
  },
  recordHashGarbage(file, layout, random) {
    const record = pick(random, layout.records);
    const at = record.recordOffset + layout.recordDataSize + below(random, layout.hashBytes);
    file[at] = file[at]! ^ (1 << below(random, 8));
    return `record ${record.recordOffset} hash byte at ${at} flipped`;
  },
  slotToRecordOffset(file, layout, random) {
    const slotAt = pick(random, [...layout.emptySlots, ...layout.records.map((record) => record.slotAt)]);
    const value = suspiciousOffset(random, file.length, layout);
    writeI64(file, slotAt, value === 0n ? 8n : value);
    return `slot at ${slotAt} := record ${value}`;
  },
  slotToSubtrie(file, layout, random) {
    const subtrie = pick(random, layout.subtries);
    const slotAt = subtrie.offset + subtrieHeader.bytes + 8 * below(random, 2 ** subtrie.bitCount);
    const targets: (() => bigint)[] = [
      () => BigInt(subtrie.offset), // itself: a loop
      () => BigInt(subtrie.ancestors.length > 0 ? pick(random, subtrie.ancestors) : layout.root), // an ancestor: a loop
      () => BigInt(layout.root),
      () => BigInt(pick(random, layout.subtries).offset), // some other subtrie, wrong start bit
      () => suspiciousOffset(random, file.length, layout),
      () => -(1n << 63n), // INT64_MIN: its negation overflows
    ];
    const target = pick(random, targets)();
    writeI64(file, slotAt, -(target === 0n ? 8n : target));
    return `slot at ${slotAt} := subtrie ${target}`;
  },
  slotWordsMixed(file, layout, random) {
    // A slot's two 32-bit halves set apart: readers that load a slot as two 32-bit
    // words must not take a valid-looking low word under a foreign high word.
    const slotAt = pick(random, [...layout.emptySlots, ...layout.records.map((record) => record.slotAt)]);
    const subtrie = pick(random, layout.subtries).offset;
    const high = pick(random, [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, below(random, 2 ** 32)]);
    const low = pick(random, [pick(random, layout.records).recordOffset, subtrie, (2 ** 32 - subtrie) >>> 0, below(random, 2 ** 32)]);
    const view = new DataView(file.buffer);
    view.setUint32(slotAt, low, true);
    view.setUint32(slotAt + 4, high, true);
    return `slot at ${slotAt} := high 0x${high.toString(16)} low 0x${low.toString(16)}`;
  },
  moveRecordToWrongSlot(file, layout, random) {
    if (layout.records.length === 0 || layout.emptySlots.length === 0) return "no record to move";
    const record = pick(random, layout.records);
    const slotAt = pick(random, layout.emptySlots);
    writeI64(file, slotAt, BigInt(record.recordOffset));
    if (random() < 0.5) writeI64(file, record.slotAt, 0n);
    return `record ${record.recordOffset} also at slot ${slotAt}`;
  },
  subtrieHeaderGarbage(file, layout, random) {
    const subtrie = pick(random, layout.subtries);
    const field = pick(random, ["startBit", "bitCount", "padding"] as const);
    if (field === "startBit") {
      const value = pick(random, [0, subtrie.startBit + 1, subtrie.startBit - 1, 255, 256, 0xffff, below(random, 0x10000)]) & 0xffff;
      new DataView(file.buffer).setUint16(subtrie.offset + subtrieHeader.startBit, value, true);
      return `subtrie ${subtrie.offset} start bit := ${value}`;
    }
    if (field === "bitCount") {
      const value = pick(random, [0, 1, subtrie.bitCount + 1, subtrie.bitCount - 1, 10, 16, 17, 31, 63, 64, 255, below(random, 256)]) & 0xff;
      file[subtrie.offset + subtrieHeader.bitCount] = value;
      return `subtrie ${subtrie.offset} bit count := ${value}`;
    }
    file[subtrie.offset + 3 + below(random, 5)] = 1 + below(random, 255);
    return `subtrie ${subtrie.offset} padding garbage`;
  },
  tableHeaderGarbage(file, layout, random) {
    const field = pick(random, Object.keys(tableHeader).filter((name) => name !== "bytes") as Exclude<keyof typeof tableHeader, "bytes">[]);
    const at = layout.tableAt + tableHeader[field];
    const view = new DataView(file.buffer);
    if (field === "rootSubtrieOffset" || field === "allocatorOffset") {
      const value = random() < 0.3 ? -suspiciousOffset(random, file.length, layout) : suspiciousOffset(random, file.length, layout);
      writeI64(file, at, value);
      return `table ${field} := ${value}`;
    }
    const widths = { kind: 2, nameSize: 2, nameOffset: 4, subtrieBits: 1, flags: 1, hashBits: 2, recordDataSize: 4 } as const;
    const width = widths[field];
    const value = pick(random, [0, 1, 2, 3, 7, 64, 255, 256, 0xffff, 0x7fffffff, 0xffffffff, below(random, 2 ** 32)]) % 2 ** (8 * width);
    if (width === 1) view.setUint8(at, value);
    else if (width === 2) view.setUint16(at, value, true);
    else view.setUint32(at, value, true);
    return `table ${field} := ${value}`;
  },
  tableNameGarbage(file, layout, random) {
    const at = layout.tableAt + tableHeader.bytes + below(random, 6);
    file[at] = below(random, 256);
    return `table name byte at ${at} := ${file[at]}`;
  },
  databaseHeaderGarbage(file, layout, random) {
    const field = pick(random, ["magic", "version", "rootTableOffset"] as const);
    const view = new DataView(file.buffer);
    if (field === "rootTableOffset") {
      const value = random() < 0.3 ? -suspiciousOffset(random, file.length, layout) : suspiciousOffset(random, file.length, layout);
      writeI64(file, databaseHeader.rootTableOffset, value);
      return `database root table := ${value}`;
    }
    const value = below(random, 2 ** 32);
    view.setUint32(databaseHeader[field], value, true);
    return `database ${field} := ${value}`;
  },
  arenaHeaderGarbage(file, layout, random) {
    const field = pick(random, ["bumpPtr", "allocatedSize", "capacity", "headerOffset"] as const);
    const value = pick(random, [0n, -8n, 8n, 48n, BigInt(file.length), BigInt(file.length + 8), BigInt(file.length - 8), suspiciousOffset(random, file.length, layout)]);
    writeI64(file, arenaHeaderAt + arenaHeader[field], value);
    return `arena ${field} := ${value}`;
  },
} satisfies Record<string, Mutation>;

/** How often each mutation is drawn: mostly the trie's own structure, which the open cannot check. */
const weights: Record<keyof typeof mutations, number> = {
  flipBytes: 3,
  truncate: 1,
  truncateWithBumpPointer: 2,
  recordHashGarbage: 2,
  slotToRecordOffset: 3,
  slotToSubtrie: 3,
  slotWordsMixed: 2,
  moveRecordToWrongSlot: 2,
  subtrieHeaderGarbage: 3,
  tableHeaderGarbage: 1,
  tableNameGarbage: 1,
  databaseHeaderGarbage: 1,
  arenaHeaderGarbage: 1,
};
const mutationNames = Object.entries(weights).flatMap(([name, weight]) => Array<string>(weight).fill(name));

const isTruncation = (name: string) => Number(name.startsWith("truncate"));

/** One corrupt file from `healthy`: one to three mutations drawn by `random`. */
export function mutate(healthy: Uint8Array, layout: TrieLayout, random: Random): Mutated {
  let file: Uint8Array = healthy.slice();
  const steps: string[] = [];
  const count = 1 + below(random, 3);
  // A truncation goes last, and only one: the other mutations write at offsets of the whole file.
  const names = Array.from({ length: count }, () => pick(random, mutationNames)).sort((a, b) => isTruncation(a) - isTruncation(b));
  for (const name of names) {
    const result = (mutations as Record<string, Mutation>)[name]!(file, layout, random);
    if (typeof result === "string") steps.push(`${name}: ${result}`);
    else {
      steps.push(`${name}: to ${result.length} bytes`);
      file = result;
      break; // one truncation: a second would write to offsets of the whole file
    }
  }
  return { file, steps };
}
