/**
 * A walk over every subtrie and record of a trie: validate() and iteration.
 *
 * Every node is checked before it is read (TrieLayout): bounds, alignment, each
 * child's start bit and width against its place. On top of LLVM's validate, a
 * strict walk checks that each record's hash leads to the slot it is in (its
 * prefix at every level), that no subtrie or record is reached twice, and that no
 * two nodes overlap; then it counts the bytes reachable from the table against
 * the bytes handed out (the bump pointer): the difference is what lost races
 * leaked (or what a crash between allocation and publication left behind).
 *
 * The walk is an explicit stack, not recursion, and it visits each subtrie once
 * (a set of visited offsets), so a file whose slots all point at one subtrie
 * costs one visit, not 64^depth.
 */
import { corruptAt } from "./corruption.ts";
import { firstAllocationOffset } from "./database-file.ts";
import { indexAt, indexBits } from "./hash-index.ts";
import { subtrieBytes, subtrieHeaderBytes, type TrieLayout } from "./trie-layout.ts";
import { alignUp8 } from "./corruption.ts";

/** What validate() found. */
export interface TrieValidation {
  records: number;
  /** Subtries reachable, the root included. */
  subtries: number;
  /** Levels on the longest path (1 = the root only). */
  maxDepth: number;
  /** Bytes of the table, subtries and records reachable from the table. */
  reachableBytes: number;
  /** Bytes handed out by the arena (bump pointer minus the first allocation's offset). */
  usedBytes: number;
  /** usedBytes - reachableBytes: allocations no slot reaches (lost races, interrupted inserts). */
  leakedBytes: number;
}

export interface WalkOptions {
  /** Also check that no node is reached twice or overlaps another (costs memory per node). */
  strict: boolean;
  onRecord: ((offset: number) => void) | undefined;
}

/** One subtrie waiting to be visited, with the slot path that led to it. */
interface Pending {
  offset: number;
  startBit: number;
  nominalBits: number;
  /** Flat [startBit, bits, index] for each level above this one. */
  path: number[];
}

export function walkTrie(layout: TrieLayout, options: WalkOptions): TrieValidation {
  const result: TrieValidation = { records: 0, subtries: 0, maxDepth: 0, reachableBytes: 0, usedBytes: 0, leakedBytes: 0 };
  const tableBytes = layout.floor - layout.table.offset;
  result.reachableBytes = tableBytes;
  const intervals: number[] = options.strict ? [layout.table.offset, layout.floor] : [];
  const seenSubtries = new Set<number>();
  const seenRecords = options.strict ? new Set<number>() : null;

  let root = layout.rootOffset;
  if (root === 0) {
    root = layout.storedRoot();
    if (root !== 0) layout.adoptRoot(root);
  }
  const stack: Pending[] = root === 0 ? [] : [{ offset: root, startBit: 0, nominalBits: layout.rootBits, path: [] }];
  if (root !== 0) seenSubtries.add(root);
  const recordFootprint = alignUp8(layout.recordBytes);

  // Each pushed subtrie is a new offset (seenSubtries), and every offset lies
  // below the bump pointer: the loop ends.
  while (stack.length > 0) {
    const { offset, startBit, nominalBits, path } = stack.pop()!;
    const bits = indexBits(nominalBits, startBit, layout.hashBits);
    const slotCount = 2 ** layout.bytes[offset + 2]!;
    const footprint = subtrieBytes(layout.bytes[offset + 2]!);
    result.subtries += 1;
    result.reachableBytes += footprint;
    result.maxDepth = Math.max(result.maxDepth, path.length / 3 + 1);
    if (options.strict) intervals.push(offset, offset + footprint);
    for (let index = 0; index < slotCount; index++) {
      const slot = offset + subtrieHeaderBytes + index * 8;
      const value = layout.loadSlot(slot);
      if (value === 0) continue;
      if (index >= 2 ** bits) throw corruptAt(layout.path, slot, `slot ${index} is used, but a hash can only reach slots below ${2 ** bits} here`);
      if (value < 0) {
        const child = -value;
        const childStart = startBit + nominalBits;
        layout.requireSubtrie(child, childStart, slot);
        if (seenSubtries.has(child)) throw corruptAt(layout.path, slot, `subtrie 0x${child.toString(16)} is reached from more than one slot`);
        seenSubtries.add(child);
        stack.push({ offset: child, startBit: childStart, nominalBits: layout.subtrieBits, path: [...path, startBit, bits, index] });
        continue;
      }
      layout.requireRecord(value, slot);
      checkPrefix(layout, value, [...path, startBit, bits, index], slot);
      if (seenRecords !== null) {
        if (seenRecords.has(value)) throw corruptAt(layout.path, slot, `record 0x${value.toString(16)} is reached from more than one slot`);
        seenRecords.add(value);
        intervals.push(value, value + recordFootprint);
      }
      result.records += 1;
      result.reachableBytes += recordFootprint;
      options.onRecord?.(value);
    }
  }
  const end = layout.refreshEnd();
  result.usedBytes = end - firstAllocationOffset;
  result.leakedBytes = result.usedBytes - result.reachableBytes;
  if (options.strict) checkOverlaps(layout, intervals);
  return result;
}

/** The record's hash must pick `index` at every level of `path`, or find() could never reach it. */
function checkPrefix(layout: TrieLayout, record: number, path: number[], slot: number): void {
  const hashAt = record + layout.dataBytes;
  for (let level = 0; level < path.length; level += 3) {
    const startBit = path[level]!;
    const bits = path[level + 1]!;
    const index = path[level + 2]!;
    const wanted = indexAt(layout.bytes, hashAt, layout.hashBytes, startBit, bits);
    if (wanted !== index) {
      throw corruptAt(layout.path, slot, `record 0x${record.toString(16)} is in slot ${index} of the level at bit ${startBit}, but its hash leads to slot ${wanted}`);
    }
  }
}

/** No two reachable nodes may share a byte: sorts [start, end) pairs and compares neighbours. */
function checkOverlaps(layout: TrieLayout, intervals: number[]): void {
  const count = intervals.length / 2;
  const order = Array.from({ length: count }, (_, index) => index);
  order.sort((a, b) => intervals[2 * a]! - intervals[2 * b]!);
  for (let index = 1; index < count; index++) {
    const previousEnd = intervals[2 * order[index - 1]! + 1]!;
    const start = intervals[2 * order[index]!]!;
    if (start < previousEnd) {
      throw corruptAt(layout.path, start, `a node starts inside another one (which ends at 0x${previousEnd.toString(16)})`);
    }
  }
}
