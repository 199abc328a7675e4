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
 * The walk is an explicit stack, not recursion, depth-first in slot order (so
 * records come in hash order), and it visits each subtrie once (a set of visited
 * offsets), so a file whose slots all point at one subtrie costs one visit, not
 * 64^depth. The levels above the frame on top (start bit, width, index each)
 * are one array for the whole walk, cut back to the frame's depth before each
 * slot: depth-first, the path of the frame on top is always a prefix of it. A
 * copy per frame would cost memory quadratic in the depth, and a healthy file
 * may be 65528 levels deep (a 65528-bit hash, 1-bit levels, two hashes that
 * share all but their last bit): tens of GB, where one path is a few MB.
 *
 * The map may be closed while the walk is suspended (an iterator resumed later)
 * or by the visitor: `isOpen` is asked before each step reads the views again.
 */
import { closedError } from "../common/errors.ts";
import { trieVariant } from "./broken-variants.ts";
import { alignUp8, corruptAt } from "./corruption.ts";
import { firstAllocationOffset } from "./database-file.ts";
import { indexAt, indexBits } from "./hash-index.ts";
import { subtrieBytes, subtrieHeaderBytes, type TrieLayout } from "./trie-layout.ts";

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
  /** False once the map is closed (its views detached): the walk then throws ERR_ARENA_CLOSED. */
  isOpen?: () => boolean;
}

/** A subtrie being walked: where it is, the level it serves, the next slot to read. */
interface Frame {
  offset: number;
  startBit: number;
  nominalBits: number;
  /** Index bits a hash uses at this level; slots at or past 2^bits must be empty. */
  bits: number;
  slotCount: number;
  next: number;
  /** Levels above this one: the walk's path holds 3 * depth numbers for them. */
  depth: number;
  /** Only in the broken variant "path-per-frame" (broken-variants.ts): a copy of the path. */
  pathCopy?: number[];
}

/** Walks the whole trie (see trieRecordOffsets) and returns what it found. */
export function walkTrie(layout: TrieLayout, options: WalkOptions): TrieValidation {
  const result = emptyValidation();
  for (const offset of trieRecordOffsets(layout, options.strict, result, options.isOpen)) options.onRecord?.(offset);
  return result;
}

function emptyValidation(): TrieValidation {
  return { records: 0, subtries: 0, maxDepth: 0, reachableBytes: 0, usedBytes: 0, leakedBytes: 0 };
}

/**
 * Yields every record's offset in hash order (a depth-first walk in slot order,
 * and slot indices are the hash's bits, most significant first), checking each
 * node on the way and counting into `result`, which is complete once the
 * generator is exhausted. Throws ERR_ARENA_CLOSED at the first step after
 * `isOpen` says the map was closed.
 */
export function* trieRecordOffsets(
  layout: TrieLayout,
  strict: boolean,
  result: TrieValidation = emptyValidation(),
  isOpen: () => boolean = () => true,
): Generator<number, TrieValidation> {
  result.reachableBytes += layout.floor - layout.table.offset;
  const intervals: number[] = strict ? [layout.table.offset, layout.floor] : [];
  const seenSubtries = new Set<number>();
  const seenRecords = strict ? new Set<number>() : null;
  const recordFootprint = alignUp8(layout.recordBytes);
  const stack: Frame[] = [];
  // Flat [startBit, bits, index] per level above the frame on top (see the top of the file).
  const path: number[] = [];

  const enter = (offset: number, startBit: number, nominalBits: number, depth: number) => {
    const storedBits = layout.bytes[offset + 2]!;
    const footprint = subtrieBytes(storedBits);
    seenSubtries.add(offset);
    result.subtries += 1;
    result.reachableBytes += footprint;
    result.maxDepth = Math.max(result.maxDepth, depth + 1);
    if (strict) intervals.push(offset, offset + footprint);
    const bits = indexBits(nominalBits, startBit, layout.hashBits);
    const frame: Frame = { offset, startBit, nominalBits, bits, slotCount: 2 ** storedBits, next: 0, depth };
    if (trieVariant.broken === "path-per-frame") frame.pathCopy = path.slice(0, 3 * depth);
    stack.push(frame);
  };

  let root = layout.rootOffset;
  if (root === 0) {
    root = layout.storedRoot();
    if (root !== 0) layout.adoptRoot(root);
  }
  if (root !== 0) enter(root, 0, layout.rootBits, 0);

  // Each step reads one slot of a subtrie or leaves a finished one; each subtrie
  // is entered once (seenSubtries) and lies below the bump pointer: the loop ends.
  while (stack.length > 0) {
    if (!isOpen()) throw closedError(layout.path);
    const frame = stack[stack.length - 1]!;
    if (frame.next === frame.slotCount) {
      stack.pop();
      continue;
    }
    const index = frame.next++;
    const slot = frame.offset + subtrieHeaderBytes + index * 8;
    const value = layout.loadSlot(slot);
    if (value === 0) continue;
    if (index >= 2 ** frame.bits) throw corruptAt(layout.path, slot, `slot ${index} is used, but a hash can only reach slots below ${2 ** frame.bits} here`);
    path.length = 3 * frame.depth;
    path.push(frame.startBit, frame.bits, index);
    if (value < 0) {
      const child = -value;
      const childStart = frame.startBit + frame.nominalBits;
      layout.requireSubtrie(child, childStart, slot);
      if (seenSubtries.has(child)) throw corruptAt(layout.path, slot, `subtrie 0x${child.toString(16)} is reached from more than one slot`);
      enter(child, childStart, layout.subtrieBits, frame.depth + 1);
      continue;
    }
    layout.requireRecord(value, slot);
    checkPrefix(layout, value, path, slot);
    if (seenRecords !== null) {
      if (seenRecords.has(value)) throw corruptAt(layout.path, slot, `record 0x${value.toString(16)} is reached from more than one slot`);
      seenRecords.add(value);
      intervals.push(value, value + recordFootprint);
    }
    result.records += 1;
    result.reachableBytes += recordFootprint;
    yield value;
  }
  if (!isOpen()) throw closedError(layout.path);
  result.usedBytes = layout.refreshEnd() - firstAllocationOffset;
  result.leakedBytes = result.usedBytes - result.reachableBytes;
  if (strict) checkOverlaps(layout, intervals);
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
