/**
 * The checker of the trie's multi-process tests. It returns what it finds rather
 * than asserting, so that a test of the broken variant can require problems to be
 * found, with the same code that must find none in the real one.
 */
import { readFileSync } from "node:fs";
import { OnDiskTrieRawHashMap } from "../../lib/index.ts";
import { dataBytes, hashBytes, keyDataWriter, keyHash } from "./trie-keys.ts";

export interface TrieTestOptions {
  name: string;
  hashBits: number;
  dataBytes: number;
  capacity: number;
  rootBits: number;
  subtrieBits: number;
}

/** Tiny root and subtries: many keys share slots, so inserts sink records and race on the same slots. */
export function collidingOptions(capacity: number): TrieTestOptions {
  return { name: "index", hashBits: hashBytes * 8, dataBytes, capacity, rootBits: 2, subtrieBits: 1 };
}

export interface KeyRange {
  first: number;
  count: number;
}

export interface TrieFindings {
  problems: string[];
  records: number;
  validateReport: unknown;
}

/**
 * Opens the trie and checks, for the keys `union` and the writers that inserted
 * `writerRanges[w]`:
 * - iteration yields every key exactly once, nothing else, each record's hash the key's;
 * - each key's data is a whole stamp by a writer whose range holds the key;
 * - when `offsetsOf(w)` is given (the offsets writer w's inserts returned), find gives those records;
 * - validate passes and counts as many records;
 * - after a close and a reopen, every key is still found.
 */
export function checkTrie(
  path: string,
  options: TrieTestOptions,
  union: KeyRange,
  writerRanges: KeyRange[],
  offsetsOf?: (writer: number) => Float64Array,
): TrieFindings {
  const problems: string[] = [];
  const note = (problem: string) => {
    if (problems.length < 20) problems.push(problem);
  };
  const hash = new Uint8Array(hashBytes);
  let records = 0;
  let validateReport: unknown = null;
  {
    using map = OnDiskTrieRawHashMap.create(path, options);
    const copies = new Uint8Array(union.count);
    for (const record of map) {
      records++;
      const key = new DataView(record.data.buffer, record.data.byteOffset, dataBytes).getUint32(0, true);
      const n = key - union.first;
      if (n < 0 || n >= union.count) {
        note(`record ${record.offset} holds key ${key}, not one of the test's`);
        continue;
      }
      if (!keyHash(key, hash).every((byte, i) => record.hash[i] === byte)) note(`record ${record.offset}: its hash is not key ${key}'s`);
      if (++copies[n]! === 2) note(`key ${key} is stored more than once`);
    }
    const missing = copies.reduce((count, copiesOfKey) => count + Number(copiesOfKey === 0), 0);
    if (missing > 0) note(`${missing} keys are not in the iteration, first ${union.first + copies.indexOf(0)}`);

    for (let n = 0; n < union.count; n++) {
      const key = union.first + n;
      const found = map.find(keyHash(key, hash));
      if (!found) {
        note(`key ${key} not found`);
        continue;
      }
      const writer = keyDataWriter(found.data, key);
      const range = writerRanges[writer];
      if (!range || key < range.first || key >= range.first + range.count) note(`key ${key}: data ${[...found.data]} is no writer's stamp for it`);
    }
    if (offsetsOf) {
      writerRanges.forEach((range, writer) => {
        const offsets = offsetsOf(writer);
        for (let n = 0; n < range.count; n++) {
          const found = map.find(keyHash(range.first + n, hash));
          if (found && found.offset !== offsets[n]) {
            note(`writer ${writer}'s insert of key ${range.first + n} returned record ${offsets[n]}, but find gives ${found.offset}`);
          }
        }
      });
    }
    try {
      const report = map.validate(() => {});
      validateReport = report;
      if ((report as { records?: number }).records !== records) note(`validate counts ${(report as { records?: number }).records} records, iteration ${records}`);
    } catch (error) {
      note(`validate threw: ${(error as Error).message}`);
    }
  }
  {
    using reopened = OnDiskTrieRawHashMap.create(path, options);
    let lost = 0;
    for (let n = 0; n < union.count; n++) if (!reopened.find(keyHash(union.first + n, hash))) lost++;
    if (lost > 0) note(`after reopening, ${lost} keys are not found`);
  }
  return { problems, records, validateReport };
}

/** The offsets writer `writer`'s inserts returned, as insert-keys.ts wrote them. */
export function readWriterOffsets(trie: string, writer: number): Float64Array {
  const bytes = readFileSync(`${trie}.offsets-${writer}`);
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
