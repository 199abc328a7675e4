/**
 * Keys for the trie's tests and benchmarks: key `i` is a 32-byte hash made from
 * `i` alone, so every process (and the C walk of the benchmark) derives the same
 * hash for the same key without sharing a list, and the bits are spread evenly,
 * as a real content hash's are, so the trie's subtries form as they would.
 *
 * The 8-byte data the tests store for key `i` says which key it belongs to and
 * which writer's initializer wrote it: "exactly one initializer's bytes are
 * visible" is checked by reading the writer back.
 */
export const hashBytes = 32;
export const dataBytes = 8;

/** A 32-bit mix with full avalanche (murmur3's finalizer). */
function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Writes key `i`'s hash into `out` (32 bytes) and returns it; allocation-free. */
export function keyHash(i: number, out: Uint8Array = new Uint8Array(hashBytes)): Uint8Array {
  const low = i >>> 0;
  const high = Math.floor(i / 4294967296) >>> 0;
  for (let word = 0; word < 8; word++) {
    const value = mix32(mix32(low + Math.imul(word, 0x9e3779b9)) ^ mix32(high + word * 0x632be5ab + 1));
    out[word * 4] = value >>> 24;
    out[word * 4 + 1] = value >>> 16;
    out[word * 4 + 2] = value >>> 8;
    out[word * 4 + 3] = value;
  }
  return out;
}

/** The data an initializer writes for key `i` when `writer` runs it: [i u32][writer + 1 u32], little-endian. */
export function writeKeyData(data: Uint8Array, i: number, writer: number): void {
  const view = new DataView(data.buffer, data.byteOffset, dataBytes);
  view.setUint32(0, i >>> 0, true);
  view.setUint32(4, writer + 1, true);
}

/** The writer whose initializer wrote `data` for key `i`, or -1 if it is not a whole stamp for that key. */
export function keyDataWriter(data: Uint8Array, i: number): number {
  const view = new DataView(data.buffer, data.byteOffset, dataBytes);
  if (view.getUint32(0, true) !== i >>> 0) return -1;
  return view.getUint32(4, true) - 1;
}
