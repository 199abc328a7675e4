/**
 * Many lookups in one call (OnDiskTrieRawHashMap.findOffsets): the walks of a
 * group of hashes interleaved, level by level.
 *
 * The effect we want: a batch of lookups costs what the memory system allows,
 * not one lookup's full latency each. A lookup is a chain of two or three
 * dependent cache misses (a deep subtrie's slot, then the record), ~400 ns end
 * to end on this machine. The processor overlaps the misses of consecutive
 * lookups only if the next lookup's first missing load is within its reorder
 * window (a few hundred instructions) of the current one's last: C's walk is
 * short enough; the checked JavaScript walk (TrieLayout.findChecked) is at the
 * edge, and one lookup per call leaves no choice.
 *
 * The way chosen: take the hashes `group` at a time, and walk the group one
 * level at a time: the slot loads of the group's hashes at a level are
 * independent and a few instructions apart, so their misses overlap by
 * construction, whatever the window. All hashes of a group are at the same
 * level, so the level's start bit and width are shared.
 *
 * The checks are findChecked's, made inline the same way, with the same slow
 * paths (TrieLayout's loadSlot, isRecord/requireRecord, requireSubtrie) to
 * refresh the bump pointer or say what is wrong; the loops are bounded by the
 * hash count, the group size and maxLevels.
 *
 * What it gives up: the caller's hashes must be laid out one after another, and
 * results come back as offsets in an Int32Array (views are the caller's to make).
 */
import { corruptAt } from "./corruption.ts";
import type { TrieLayout } from "./trie-layout.ts";

/** Hashes walked side by side: enough independent misses to fill the memory pipeline. */
const group = 8;

/**
 * Writes into `offsets[i]` the record offset of hash i of `hashes` (hashes one
 * after another, `count` of them), or -1 if it is absent; returns how many were
 * found. The caller has checked the arguments and adopted the root.
 */
export function findMany(layout: TrieLayout, hashes: Uint8Array, offsets: Int32Array, count: number): number {
  // Compared a word at a time through one view, when the records and the caller's array allow it.
  const hashWords = layout.wordHashes && (hashes.byteOffset & 3) === 0 ? new Int32Array(hashes.buffer, hashes.byteOffset, hashes.length >>> 2) : null;
  const subtries = new Int32Array(group);
  let found = 0;
  for (let first = 0; first < count; first += group) {
    const size = count - first < group ? count - first : group;
    found += walkGroup(layout, hashes, hashWords, offsets, first, size, subtries);
  }
  return found;
}

/** Walks hashes first .. first + size - 1 level by level; a hash is done once its offset is written. */
function walkGroup(layout: TrieLayout, hashes: Uint8Array, hashWords: Int32Array | null, offsets: Int32Array, first: number, size: number, subtries: Int32Array): number {
  const hashBytes = layout.hashBytes;
  const hashBits = layout.hashBits;
  const subtrieBits = layout.subtrieBits;
  const levels = layout.maxLevels;
  const atomicLoads = layout.slotLoadsAtomic; // the read-only tests' broken variant only
  let int32 = layout.int32;
  let found = 0;
  let pending = size;
  for (let k = 0; k < size; k++) {
    subtries[k] = layout.rootOffset;
    offsets[first + k] = -2; // not yet known
  }
  let startBit = 0;
  let nominalBits = layout.rootBits;
  for (let level = 0; level < levels && pending > 0; level++) {
    const left = (hashBits - startBit) | 0;
    const bits = nominalBits < left ? nominalBits : left;
    const byte = startBit >>> 3;
    const shift = 24 - (startBit & 7) - bits;
    const mask = (1 << bits) - 1;
    const childStart = (startBit + nominalBits) | 0;
    // The header a child here must have: its start bit, and the bits the hash has left for it (findChecked's check).
    const childLeft = (hashBits - childStart) | 0;
    const childHeader = childStart | ((childLeft < subtrieBits ? childLeft : subtrieBits) << 16);
    for (let k = 0; k < size; k++) {
      const at = first + k;
      if (offsets[at] !== -2) continue;
      const base = at * hashBytes;
      // indexAt (hash-index.ts), inline: bytes past the hash read as 0.
      let window = hashes[base + byte]! << 16;
      if (byte + 1 < hashBytes) window |= hashes[base + byte + 1]! << 8;
      if (byte + 2 < hashBytes) window |= hashes[base + byte + 2]!;
      const word = (((subtries[k]! >>> 2) + 2 + (((window >>> shift) & mask) << 1)) | 0);
      let value = atomicLoads ? Atomics.load(int32, word) : int32[word]!;
      if (int32[word + 1] !== value >> 31) {
        value = layout.loadSlot(word << 2); // reread atomically, or throw
        int32 = layout.int32;
      }
      if (value >= 0) {
        pending -= 1;
        if (value === 0) {
          offsets[at] = -1;
          continue;
        }
        if ((value & 7) !== 0 || value < layout.floor || value > layout.recordLimit) {
          if (!layout.isRecord(value)) layout.requireRecord(value, word << 2);
          int32 = layout.int32;
        }
        const equal = hashWords !== null ? wordsEqual(int32, (value + layout.dataBytes) >> 2, hashWords, base >> 2, hashBytes >>> 2) : layout.hashBytesEqual(value, hashes, base);
        offsets[at] = equal ? value : -1;
        if (equal) found += 1;
        continue;
      }
      const child = -value | 0;
      if ((child & 7) !== 0 || child < layout.floor || child > layout.childLimit || (int32[child >> 2]! & 0xffffff) !== childHeader) {
        layout.requireSubtrie(-value, childStart, word << 2);
        int32 = layout.int32;
      }
      subtries[k] = child;
    }
    startBit = childStart;
    nominalBits = subtrieBits;
  }
  if (pending > 0) {
    const deep = Array.from(offsets.subarray(first, first + size)).indexOf(-2);
    throw corruptAt(layout.path, subtries[deep]!, `the walk for a hash went deeper than ${levels} levels`);
  }
  return found;
}

function wordsEqual(int32: Int32Array, at: number, words: Int32Array, from: number, length: number): boolean {
  for (let w = 0; w < length; w++) {
    if (int32[at + w] !== words[from + w]) return false;
  }
  return true;
}
