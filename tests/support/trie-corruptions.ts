/**
 * Corruptions that change what a trie means, made by hand on a healthy file
 * (laid out by trie-layout.ts): validate must throw ERR_ARENA_CORRUPT for each
 * one (tests/trie/fuzz.test.ts, via tests/trie/children/validate-scenario.ts).
 * "none" is the control: the healthy file validates clean.
 */
import { subtrieHeader, type TrieLayout } from "./trie-layout.ts";

const setI64 = (file: Uint8Array, at: number, value: number) => new DataView(file.buffer).setBigInt64(at, BigInt(value), true);
const getI64 = (file: Uint8Array, at: number) => Number(new DataView(file.buffer).getBigInt64(at, true));
const deepest = (layout: TrieLayout) => layout.subtries.reduce((a, b) => (b.ancestors.length > a.ancestors.length ? b : a));
const slotOf = (subtrie: number, index: number) => subtrie + subtrieHeader.bytes + 8 * index;

/** Each scenario corrupts a healthy file in place. */
export const meaningCorruptions: Record<string, (file: Uint8Array, layout: TrieLayout) => void> = {
  none: () => {},
  "record moved to another (empty) slot": (file, layout) => {
    const record = layout.records[0]!;
    setI64(file, layout.emptySlots[0]!, record.recordOffset);
    setI64(file, record.slotAt, 0);
  },
  "record reachable from a second slot": (file, layout) => setI64(file, layout.emptySlots.at(-1)!, layout.records[5]!.recordOffset),
  "two records swap slots": (file, layout) => {
    const [a, b] = [layout.records[0]!, layout.records.at(-1)!];
    setI64(file, a.slotAt, b.recordOffset);
    setI64(file, b.slotAt, a.recordOffset);
  },
  "child pointer to its own subtrie (a loop)": (file, layout) => {
    const subtrie = deepest(layout);
    setI64(file, slotOf(subtrie.offset, 0), -subtrie.offset);
  },
  "child pointer to the root (an ancestor: a loop)": (file, layout) => setI64(file, slotOf(deepest(layout).offset, 1), -layout.root),
  "two slots share one child subtrie": (file, layout) => {
    const child = layout.subtries.find((subtrie) => subtrie.parentSlotAt !== -1)!;
    setI64(file, layout.emptySlots[0]!, -child.offset);
  },
  "a sibling slot shares a child subtrie (start bit right, path wrong)": (file, layout) => {
    const slotsOf = (subtrie: number, bits: number) => Array.from({ length: 2 ** bits }, (_, index) => slotOf(subtrie, index));
    for (const child of layout.subtries) {
      const parent = layout.subtries.find((subtrie) => subtrie.offset === child.ancestors.at(-1));
      const emptySibling = parent && slotsOf(parent.offset, parent.bitCount).find((slot) => getI64(file, slot) === 0);
      if (emptySibling !== undefined) return setI64(file, emptySibling, -child.offset);
    }
    throw new Error("no subtrie with an empty sibling slot");
  },
  "child subtrie's start bit off by one": (file, layout) => {
    const child = deepest(layout);
    new DataView(file.buffer).setUint16(child.offset + subtrieHeader.startBit, child.startBit + 1, true);
  },
  "child subtrie's bit count changed": (file, layout) => {
    file[deepest(layout).offset + subtrieHeader.bitCount] = 2;
  },
  "record offset misaligned": (file, layout) => setI64(file, layout.records[0]!.slotAt, layout.records[0]!.recordOffset + 4),
  "record offset past the bump pointer": (file, layout) => setI64(file, layout.records[0]!.slotAt, file.length + 64),
  "record offset inside the table header": (file, layout) => setI64(file, layout.records[0]!.slotAt, layout.tableAt + 8),
  "child pointer past the bump pointer": (file, layout) => setI64(file, layout.records[0]!.slotAt, -(file.length + 64)),
  "a record's hash changed in its path bits": (file, layout) => {
    const record = layout.records.find((candidate) => candidate.subtrie === layout.root) ?? layout.records[0]!;
    const firstHashByte = record.recordOffset + layout.recordDataSize;
    file[firstHashByte] = file[firstHashByte]! ^ 0xc0; // the root's 2 bits: now another slot's hash
  },
  "root pointer to a child subtrie": (file, layout) => setI64(file, layout.tableAt + 16, deepest(layout).offset),
};

