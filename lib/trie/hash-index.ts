/**
 * Which slot a hash takes at each level of the trie: LLVM's TrieHashIndexGenerator
 * (llvm/include/llvm/ADT/TrieHashIndexGenerator.h), as plain functions over the
 * hash bytes so that the lookup loop allocates nothing.
 *
 * The hash is read as one long big-endian bit string, most significant bit of
 * byte 0 first. The root takes the first `rootBits` bits, each child level the
 * next `subtrieBits`. Where fewer bits are left than a level nominally takes (the
 * last level, or a root wider than the hash), the index is the bits that are left,
 * right-aligned: LLVM's getIndex stops at the end of the bytes without shifting,
 * and we must pick the same slots to read its files.
 */

/** LLVM's limits (TrieRawHashMapHandle::Limits). */
export const maxRootBits = 16;
export const maxSubtrieBits = 10;
/** 65528: the hash size field is 16 bits and hashes are whole bytes. */
export const maxHashBits = (0xffff >>> 3) << 3;

/**
 * The index of `bits` bits (1..16) starting at bit `startBit` of the hash held in
 * `bytes[base .. base + lengthBytes)`. The caller has checked that the bits are
 * inside the hash (startBit + bits <= lengthBytes * 8).
 */
export function indexAt(bytes: Uint8Array, base: number, lengthBytes: number, startBit: number, bits: number): number {
  const byte = startBit >>> 3;
  // 24 bits starting at the byte that holds startBit cover any 16 bits (startBit
  // may be 7 bits into its byte). Bytes past the hash read as 0.
  let window = bytes[base + byte]! << 16;
  if (byte + 1 < lengthBytes) window |= bytes[base + byte + 1]! << 8;
  if (byte + 2 < lengthBytes) window |= bytes[base + byte + 2]!;
  return (window >>> (24 - (startBit & 7) - bits)) & ((1 << bits) - 1);
}

/**
 * The bits a level starting at `startBit` uses for its index: its nominal width,
 * or fewer at the end of the hash; 0 when no bits are left (no level can start there).
 */
export function indexBits(nominalBits: number, startBit: number, hashBits: number): number {
  const left = hashBits - startBit;
  return left <= 0 ? 0 : Math.min(nominalBits, left);
}

/** How many levels a walk can take at most: the root, then one per subtrieBits of what is left. */
export function maxLevels(rootBits: number, subtrieBits: number, hashBits: number): number {
  return 1 + Math.max(0, Math.ceil((hashBits - rootBits) / subtrieBits));
}
