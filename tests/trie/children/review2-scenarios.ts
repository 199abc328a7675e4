/**
 * Child process of tests/trie/review2.test.ts (the second adversarial review of
 * lib/trie: find's quick walk, read-only handout views, the pre-open check, the
 * walk's shared path): runs one scenario and prints one JSON object, so a crash
 * is a reported signal, never the test runner's death.
 *
 *   bun review2-scenarios.ts <scenario> <directory> [args...]
 */
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ContentStore, OnDiskTrieRawHashMap } from "../../../lib/index.ts";
import { int64, outcome, poke } from "../../support/scenario-outcomes.ts";

const [scenario, directory] = process.argv.slice(2) as [string, string];
const readOnlyOptions = { name: "t", hashBits: 256, dataBytes: 8 };

function writerOptions(rootBits: number, subtrieBits: number, capacity = 16 << 20) {
  return { ...readOnlyOptions, capacity, rootBits, subtrieBits };
}

/** A fixed key and, for each of its 256 bits, the key with that bit flipped: pairs that part at every depth. */
function keysPartingAtEveryBit(): Uint8Array[] {
  const base = new Uint8Array(32);
  for (let i = 0; i < 32; i++) base[i] = (i * 37 + 11) & 255;
  const keys = [base];
  for (let bit = 0; bit < 256; bit++) {
    const key = base.slice();
    key[bit >> 3]! ^= 0x80 >> (bit & 7);
    keys.push(key);
  }
  return keys;
}

const rootTableAt = 48;
const rootWordAt = rootTableAt + 16;

const scenarios: Record<string, () => unknown> = {
  /**
   * find through one reused key array (the quick walk) against a fresh copy of
   * the key (the checked walk), present keys that part from a neighbour at
   * every bit, and absent ones, on shapes with quickWalk on and off, from a
   * writer and a read-only opener. Also the key array's kinds: unaligned, over
   * a resizable buffer, over a SharedArrayBuffer.
   */
  "quick-walk-agrees"() {
    const shapes = [[10, 6], [16, 10], [8, 8], [1, 5], [1, 1], [3, 1], [12, 4], [10, 7], [16, 9], [5, 3]] as const;
    const disagreements: string[] = [];
    for (const [rootBits, subtrieBits] of shapes) {
      const path = join(directory, `shape-${rootBits}-${subtrieBits}.db`);
      const writer = OnDiskTrieRawHashMap.create(path, writerOptions(rootBits, subtrieBits));
      const keys = keysPartingAtEveryBit();
      for (const key of keys) writer.insert(key);
      const reader = OnDiskTrieRawHashMap.openReadOnly(path, readOnlyOptions);
      const aligned = new Uint8Array(32);
      const unaligned = new Uint8Array(new ArrayBuffer(33), 1, 32);
      const resizable = new Uint8Array(new ArrayBuffer(32, { maxByteLength: 64 }));
      const shared = new Uint8Array(new SharedArrayBuffer(32));
      for (const [who, map] of [["writer", writer], ["reader", reader]] as const) {
        for (const [kind, buffer] of [["aligned", aligned], ["unaligned", unaligned], ["resizable", resizable], ["shared", shared]] as const) {
          for (let index = 0; index < keys.length; index++) {
            buffer.set(keys[index]!);
            const expected = map.findOffset(keys[index]!.slice());
            const answers = [map.findOffset(buffer), map.findOffset(buffer), map.findOffset(buffer)];
            if (expected < 0 || answers.some((answer) => answer !== expected)) disagreements.push(`${rootBits}/${subtrieBits} ${who} ${kind} key ${index}: ${answers} vs ${expected}`);
            buffer[15]! ^= 0x83; // absent: every key differs from the base in at most one bit
            const absent = [map.findOffset(buffer), map.findOffset(buffer)];
            if (absent.some((answer) => answer !== -1)) disagreements.push(`${rootBits}/${subtrieBits} ${who} ${kind} absent ${index}: ${absent}`);
          }
        }
      }
      reader.close();
      writer.close();
    }
    return { disagreements: disagreements.slice(0, 10) };
  },

  /**
   * A Uint8Array subclass whose byteOffset getter lies: find reads the key's
   * bytes by index (hash[i]) for the walk and the byte compare, but builds its
   * word view from `byteOffset`, so from the second call on it compares other
   * bytes than the ones it walked by.
   */
  "key-subclass-lies-about-byte-offset"() {
    const map = OnDiskTrieRawHashMap.create(join(directory, "subclass.db"), writerOptions(10, 6, 1 << 20));
    const present = new Uint8Array(32).fill(0x33);
    map.insert(present);
    class ShiftedKey extends Uint8Array {
      override get byteOffset(): number {
        return 32;
      }
      override get length(): number {
        return 32;
      }
    }
    const key = new ShiftedKey(64);
    key.set(present, 32); // what the word view reads
    key.set(present, 0);
    key[31]! ^= 1; // what key[0..31] holds: an absent hash
    const answers = [map.findOffset(key), map.findOffset(key), map.findOffset(key)];
    const copy = map.findOffset(Uint8Array.from({ length: 32 }, (_, i) => key[i]!));
    map.close();
    return { answers, copy };
  },

  /**
   * Opens refused because the trie's root subtrie is corrupt (checked in the
   * map's constructor, after the file was opened): no byte of the file may
   * change and no PATH.shared may appear.
   */
  "refused-open-corrupt-root"() {
    const base = join(directory, "base.db");
    const writer = OnDiskTrieRawHashMap.create(base, writerOptions(10, 6, 1 << 20));
    for (let i = 0; i < 20; i++) writer.insert(new Uint8Array(32).fill(i + 1));
    writer.close();
    const good = readFileSync(base);
    const root = Number(good.readBigInt64LE(rootWordAt));
    const corruptions: Record<string, (path: string) => void> = {
      "root bits 17": (path) => poke(path, root + 2, new Uint8Array([17])),
      "root start bit 5": (path) => poke(path, root, new Uint8Array([5, 0])),
      "root offset past the bump pointer": (path) => poke(path, rootWordAt, int64(good.length + 8)),
      "root offset negative": (path) => poke(path, rootWordAt, int64(-8)),
      "root offset inside the table": (path) => poke(path, rootWordAt, int64(rootTableAt + 8)),
    };
    const report: Record<string, unknown> = {};
    for (const [name, corrupt] of Object.entries(corruptions)) {
      const path = join(directory, `${name.replaceAll(" ", "-")}.db`);
      copyFileSync(base, path);
      corrupt(path);
      const before = readFileSync(path);
      const open = outcome(() => OnDiskTrieRawHashMap.create(path, writerOptions(10, 6, 1 << 20)).close());
      const after = readFileSync(path);
      const changedAt: number[] = [];
      for (let i = 0; i < Math.max(before.length, after.length); i++) if (before[i] !== after[i]) changedAt.push(i);
      report[name] = { open, changedAt, sharedCreated: existsSync(`${path}.shared`) };
    }
    return report;
  },

  /**
   * A read-only opener's caller writes into record A's data; record B sits on
   * the same page. A view of B made after that write (of bytes the caller never
   * wrote), and B's data asked for again, must follow a writer's later in-place
   * update of B's data (the content store publishes words into record data so).
   */
  "neighbour-of-a-written-page"() {
    const path = join(directory, "neighbours.db");
    const writer = OnDiskTrieRawHashMap.create(path, writerOptions(10, 6, 1 << 20));
    const keyA = new Uint8Array(32).fill(1);
    const keyB = new Uint8Array(32).fill(2);
    const a = writer.insert(keyA).offset;
    const b = writer.insert(keyB).offset;
    const reader = OnDiskTrieRawHashMap.openReadOnly(path, readOnlyOptions);
    reader.find(keyA)!.data[0] = 1; // the caller's write: page of A (and B) now private in the handout mapping
    const viewOfB = reader.find(keyB)!.data; // made after: B's bytes still equal the file's
    writer.find(keyB)!.data[0] = 42; // a writer's in-place update of B
    const report = { samePage: a >>> 12 === b >>> 12, viewMadeAfter: viewOfB[0], askedAgain: reader.find(keyB)!.data[0] };
    reader.close();
    writer.close();
    return report;
  },

  /**
   * The same through the content store: a read-only store's caller writes into
   * object X's view; a writer then puts object Y, which lands on X's page; the
   * reader's view(Y) must show Y's bytes (get(Y), a copy, is the reference).
   */
  "store-view-after-caller-write"() {
    const writer = ContentStore.open(directory);
    const x = writer.put(new Uint8Array(16).fill(1));
    // verifyOnRead hashes the object's bytes as the library reads them, then hands out a view of the handout mapping.
    const reader = ContentStore.openReadOnly(directory);
    const verifying = ContentStore.openReadOnly(directory, { verifyOnRead: true });
    const viewOfX = reader.view(x)!;
    viewOfX[0] = 9; // the caller's write: documented to stay in this process
    verifying.view(x)![0] = 9;
    const y = writer.put(new Uint8Array(16).fill(2));
    const viewOfY = reader.view(y)!;
    const verifiedViewOfY = verifying.view(y)!;
    const report = {
      samePage: viewOfX.byteOffset >>> 12 === viewOfY.byteOffset >>> 12,
      get: [...reader.get(y)!.data.slice(0, 4)],
      view: [...viewOfY.slice(0, 4)],
      verifiedView: [...verifiedViewOfY.slice(0, 4)],
    };
    verifying.close();
    reader.close();
    writer.close();
    return report;
  },

  /**
   * Open and close a read-only opener many times, each time writing into 70
   * records' views and asking for them again (past the 64 fresh mappings):
   * /proc/self/maps must not grow; views read empty after close, never fault.
   */
  "handout-mappings-do-not-leak"() {
    const path = join(directory, "leak.db");
    const writer = OnDiskTrieRawHashMap.create(path, writerOptions(10, 6, 64 << 20));
    const keys = Array.from({ length: 100 }, (_, i) => {
      const key = new Uint8Array(32);
      new DataView(key.buffer).setUint32(0, Math.imul(i + 1, 2654435761) >>> 0);
      return key;
    });
    // One record per page, so that each write privatizes a page of its own.
    for (const key of keys) {
      writer.insert(key, (data) => data.fill(7));
      writer.insert(crypto.getRandomValues(new Uint8Array(32)));
    }
    const mapsLines = () => readFileSync("/proc/self/maps", "utf8").split("\n").length;
    const round = () => {
      const reader = OnDiskTrieRawHashMap.openReadOnly(path, readOnlyOptions);
      const views: Uint8Array[] = [];
      for (const key of keys.slice(0, 70)) {
        const data = reader.find(key)!.data;
        data[0] = 99;
        views.push(data, reader.find(key)!.data);
      }
      const lazy = reader.find(keys[99]!)!;
      const offsetsAreFileOffsets = views.every((view) => view.byteOffset % 8 === 0) && lazy.data.byteOffset === lazy.offset;
      reader.close();
      return { offsetsAreFileOffsets, emptyAfterClose: views.every((view) => view.length === 0 && view[0] === undefined) && lazy.hash.length === 0 };
    };
    const first = round();
    const before = mapsLines();
    for (let i = 0; i < 20; i++) round();
    const after = mapsLines();
    writer.close();
    return { ...first, growth: after - before };
  },

  /**
   * validate() and iteration: a record at depth 42 whose hash is changed at any
   * one of its 256 bits is corrupt (its prefix leads elsewhere at some level);
   * two iterators interleaved give the same records in the same order.
   */
  "check-prefix-at-every-depth"() {
    const base = join(directory, "prefix.db");
    const writer = OnDiskTrieRawHashMap.create(base, writerOptions(10, 6, 1 << 20));
    const a = new Uint8Array(32).fill(0x5a);
    const b = a.slice();
    b[31]! ^= 1;
    const recordA = writer.insert(a).offset;
    writer.insert(b);
    for (let i = 0; i < 300; i++) {
      const key = new Uint8Array(32);
      new DataView(key.buffer).setUint32(0, Math.imul(i + 1, 2654435761) >>> 0);
      writer.insert(key);
    }
    const depth = writer.validate().maxDepth;
    const all = [...writer].map((record) => record.offset);
    const first = writer[Symbol.iterator]();
    const second = writer[Symbol.iterator]();
    const one: number[] = [];
    const two: number[] = [];
    for (let step = 0; step < 1000; step++) {
      const x = first.next();
      if (!x.done) one.push(x.value.offset);
      for (let k = 0; k < 2; k++) {
        const y = second.next();
        if (!y.done) two.push(y.value.offset);
      }
      if (x.done) break;
    }
    writer.close();
    const undetected: number[] = [];
    for (let bit = 0; bit < 256; bit++) {
      const path = join(directory, `bit-${bit}.db`);
      copyFileSync(base, path);
      poke(path, recordA + 8 + (bit >> 3), new Uint8Array([a[bit >> 3]! ^ (0x80 >> (bit & 7))]));
      const map = OnDiskTrieRawHashMap.create(path, writerOptions(10, 6, 1 << 20));
      const validate = outcome(() => map.validate());
      const iterate = outcome(() => {
        for (const _ of map);
      });
      map.close();
      if (validate !== "ArenaError ERR_ARENA_CORRUPT" || iterate !== "ArenaError ERR_ARENA_CORRUPT") undetected.push(bit);
    }
    return { depth, records: all.length, interleavedSame: JSON.stringify(one) === JSON.stringify(all) && JSON.stringify(two) === JSON.stringify(all), undetected };
  },
};

const run = scenarios[scenario];
if (run === undefined) throw new Error(`unknown scenario ${scenario}`);
console.log(JSON.stringify(run()));
