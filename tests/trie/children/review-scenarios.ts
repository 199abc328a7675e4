/**
 * Child process of tests/trie/review.test.ts (the adversarial review of lib/trie):
 * runs one scenario and prints one JSON object, so a crash is a reported signal,
 * never the test runner's death.
 *
 *   [MFA_TEST_BROKEN_TRIE=<variant>] bun review-scenarios.ts <scenario> <directory> [args...]
 *
 * Each scenario reports what the library answered (offsets, counts, and for every
 * throw the error's class and `code`); the test judges it.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "../../../lib/cli/cli.ts";
import { MappedFileRegionArena, OnDiskDataAllocator, OnDiskTrieRawHashMap } from "../../../lib/index.ts";
import { useBrokenTrieForTests } from "../../../lib/trie/testing.ts";
import type { BrokenTrieVariant } from "../../../lib/trie/broken-variants.ts";
import { keyHash } from "../../support/trie-keys.ts";
import { int64, outcome, poke } from "../../support/scenario-outcomes.ts";

// A broken variant for the whole child (and the writers it spawns), to show a test fails without its fix.
useBrokenTrieForTests((process.env.MFA_TEST_BROKEN_TRIE as BrokenTrieVariant | undefined) ?? null);

const [scenario, directory, ...rest] = process.argv.slice(2) as [string, string, ...string[]];
const capacity = 16 * 1024 * 1024;

function int32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, value, true);
  return bytes;
}

/** Looks up keys 0 .. total - 1: how many were found, and the codes of what threw. */
function findKeys(map: OnDiskTrieRawHashMap, total: number): { found: number; errors: string[] } {
  let found = 0;
  const errors = new Set<string>();
  for (let i = 0; i < total; i++) {
    try {
      if (map.findOffset(keyHash(i)) >= 0) found += 1;
    } catch (error) {
      errors.add((error as { code?: string }).code ?? String(error));
    }
  }
  return { found, errors: [...errors] };
}

function keyTrie(path: string): OnDiskTrieRawHashMap {
  return OnDiskTrieRawHashMap.create(path, { name: "index", hashBits: 256, dataBytes: 8, capacity });
}

const scenarios: Record<string, () => unknown | Promise<unknown>> = {
  /** A writer: inserts keys rest[1] .. rest[2] - 1 into the trie at rest[0], closes. */
  "grow-writer": () => {
    const [path, from, to] = [rest[0]!, Number(rest[1]), Number(rest[2])];
    using map = keyTrie(path);
    for (let i = from; i < to; i++) map.insert(keyHash(i), (data) => void (data[0] = i & 0xff));
    return { size: map.size };
  },

  /**
   * A read-only opener whose file a writer grows while it opens: after
   * DatabaseFile has made its views (arena.bytes) and before the trie reads the
   * bump pointer. The writer runs synchronously at exactly that point (a hook on
   * arena.bytes), so the race is certain, not hoped for.
   */
  "read-only-open-while-growing": () => {
    const path = join(directory, "growing.db");
    const total = Number(rest[0]);
    runWriter(path, 0, 10);
    const prototype = MappedFileRegionArena.prototype as unknown as { bytes: (offset: number, length: number) => Uint8Array };
    const original = prototype.bytes;
    let armed = true;
    prototype.bytes = function (this: MappedFileRegionArena, offset: number, length: number) {
      const views = original.call(this, offset, length);
      if (armed) {
        armed = false;
        runWriter(path, 10, total);
      }
      return views;
    };
    let map: OnDiskTrieRawHashMap;
    try {
      map = OnDiskTrieRawHashMap.openReadOnly(path, { name: "index", hashBits: 256, dataBytes: 8 });
    } finally {
      prototype.bytes = original;
    }
    const report = { ...findKeys(map, total), validate: outcome(() => map.validate()) };
    map.close();
    return report;
  },

  /**
   * A read-only opener writes into a record's data (documented: "a write through
   * their views stays in this process"), then a writer (another instance, here
   * in the same process: the mappings are separate) inserts more. The reader
   * must still find every key, and validate the healthy file.
   */
  "read-only-scribble-then-writer-inserts": () => {
    const path = join(directory, "scribble.db");
    const total = Number(rest[0]);
    using writer = keyTrie(path);
    for (let i = 0; i < 100; i++) writer.insert(keyHash(i));
    using reader = OnDiskTrieRawHashMap.openReadOnly(path, { name: "index", hashBits: 256, dataBytes: 8 });
    reader.find(keyHash(99))!.data[0] = 0xee; // the last record: its page also holds what comes next
    for (let i = 100; i < total; i++) writer.insert(keyHash(i));
    return { ...findKeys(reader, total), validate: outcome(() => reader.validate()) };
  },

  /**
   * The same for a data pool, two ways: a block written through a read-only
   * view on a page of its own (the writer's later blocks on that page), and the
   * user header written through its read-only view (the page that also holds the
   * arena header, so the bump pointer). The reader must read every later block.
   */
  "read-only-pool-scribble-then-writer-allocates": () => {
    const report: Record<string, unknown> = {};
    for (const scribble of ["block", "userHeader"] as const) {
      const path = join(directory, `pool-scribble-${scribble}.db`);
      using writer = OnDiskDataAllocator.create(path, { name: "p", capacity, userHeaderBytes: 8 });
      writer.allocate(8192); // the scribbled block sits past the header's page
      const first = writer.allocate(16);
      using reader = OnDiskDataAllocator.openReadOnly(path, { name: "p" });
      if (scribble === "block") reader.get(first.offset, 16).fill(0xee);
      else reader.userHeader[0] = 0xee;
      const later = Array.from({ length: 100 }, (_, i) => {
        const block = writer.allocate(16);
        block.data.fill(i + 2);
        return block.offset;
      });
      let wrong = 0;
      const errors = new Set<string>();
      later.forEach((offset, i) => {
        try {
          if (reader.get(offset, 16).some((byte) => byte !== i + 2)) wrong += 1;
        } catch (error) {
          errors.add((error as { code?: string }).code ?? String(error));
        }
      });
      report[scribble] = { wrong, errors: [...errors] };
    }
    return report;
  },

  /**
   * A last level narrower than subtrieBits (16-bit hashes, 10-bit root and
   * levels: the level at bit 10 has 6 bits) whose child header says 10 bits.
   * requireSubtrie (insert, validate) calls it corrupt; find's inline check,
   * once the bump pointer is far enough past the child for a 10-bit subtrie to fit,
   * accepts it. find and validate must agree.
   */
  "full-width-header-at-a-narrow-last-level": () => {
    const path = join(directory, "narrow-last-level.db");
    const options = { name: "t", hashBits: 16, dataBytes: 0, capacity: 1 << 20, rootBits: 10, subtrieBits: 10 };
    {
      using map = OnDiskTrieRawHashMap.create(path, options);
      map.insert(new Uint8Array([0, 1]));
      map.insert(new Uint8Array([0, 2])); // the same first 10 bits: a 6-bit child at bit 10
      for (let i = 256; i < 4000; i++) map.insert(new Uint8Array([i >> 8, i & 0xff])); // 8 bytes each: past the child + 8 KiB
    }
    const image = readFileSync(path);
    const root = Number(image.readBigInt64LE(48 + 16));
    const child = -Number(image.readBigInt64LE(root + 8)); // root slot 0
    poke(path, child + 2, new Uint8Array([10]));
    using map = OnDiskTrieRawHashMap.create(path, options);
    const key = new Uint8Array([0, 1]);
    return {
      childBitsBefore: image[child + 2],
      findOffset: outcome(() => map.findOffset(key)),
      findOffsets: outcome(() => map.findOffsets(key, new Int32Array(1))),
      validate: outcome(() => map.validate()),
    };
  },

  /**
   * A healthy trie with one long chain: rest[0]-bit hashes (3072 in the test),
   * 1-bit levels, and two hashes that differ only in their last bit (a chain of
   * 3071 subtries, 75 KB).
   * validate() and iteration copy the whole path into every frame, so their
   * memory grows with the square of the depth (the 65528-bit hashes the format
   * allows make it tens of GB: the process dies). Reports how much the resident
   * set grew during each; a walk that keeps one path needs a few MB.
   */
  "deep-chain-walk-memory": () => {
    const hashBits = Number(rest[0]);
    using map = OnDiskTrieRawHashMap.create(join(directory, "deep-chain.db"), { name: "t", hashBits, dataBytes: 0, capacity: 1 << 26, rootBits: 1, subtrieBits: 1 });
    const last = new Uint8Array(hashBits / 8);
    last[last.length - 1] = 1;
    map.insert(new Uint8Array(hashBits / 8));
    map.insert(last);
    Bun.gc(true);
    const before = process.memoryUsage().rss;
    const depth = map.validate().maxDepth;
    const afterValidate = process.memoryUsage().rss;
    let records = 0;
    for (const _record of map) records += 1;
    const afterIteration = process.memoryUsage().rss;
    const MB = 1024 * 1024;
    return { depth, records, validateGrowthMB: Math.round((afterValidate - before) / MB), iterationGrowthMB: Math.round((afterIteration - before) / MB) };
  },

  /**
   * Files that are not database files at all, opened as a trie by a writer: a
   * plain arena (header at 0, data at 32) and random bytes. Each must be refused
   * as "not an LLVM database file" (ERR_ARENA_HEADER_MISMATCH, as the read-only
   * open of the plain arena says), not as a database of some huge capacity.
   */
  "non-database-files": () => {
    const plain = join(directory, "plain-arena.db");
    {
      using arena = MappedFileRegionArena.create(plain, { capacity: 1 << 20 });
      arena.append(new Uint8Array(300).fill(7));
    }
    const random = join(directory, "random.db");
    writeFileSync(random, new Uint8Array(4096).map((_, i) => (i * 37) & 0xff));
    const open = (path: string) => outcome(() => keyTrie(path).close());
    return { plainArena: open(plain), randomBytes: open(random) };
  },

  /**
   * A read-only opener of a closed trie (its file shrunk to the bump pointer,
   * 8 KB of a 64 MiB capacity) copies a record's data with structuredClone, the
   * way one hands bytes to a worker (postMessage clones the same way). A typed
   * array is cloned with its whole buffer, and the buffer behind every view the
   * library hands out is the capacity-sized mapping: the copy reads past the end
   * of the file. rest[0]: "trie" (record.data) or "pool" (get()).
   */
  "read-only-structured-clone": () => {
    const path = join(directory, `clone-${rest[0]}.db`);
    let view: Uint8Array;
    if (rest[0] === "trie") {
      {
        using writer = OnDiskTrieRawHashMap.create(path, { name: "index", hashBits: 256, dataBytes: 8, capacity: 64 << 20 });
        writer.insert(keyHash(1), (data) => data.fill(9));
      }
      const reader = OnDiskTrieRawHashMap.openReadOnly(path, { name: "index", hashBits: 256, dataBytes: 8 });
      view = reader.find(keyHash(1))!.data;
    } else {
      {
        using writer = OnDiskDataAllocator.create(path, { name: "p", capacity: 64 << 20 });
        writer.allocate(8).data.fill(9);
      }
      const reader = OnDiskDataAllocator.openReadOnly(path, { name: "p" });
      view = reader.get(reader.dataStart, 8);
    }
    const copy = structuredClone(view);
    return { copied: Array.from(copy) };
  },

  /** Iteration resumed after the map was closed between two records. */
  "iterate-after-close": () => {
    const map = keyTrie(join(directory, "iterate.db"));
    for (let i = 0; i < 100; i++) map.insert(keyHash(i));
    const records = map[Symbol.iterator]();
    records.next();
    map.close();
    return { next: outcome(() => records.next()) };
  },

  /** validate() whose visitor closes the map at the first record. */
  "validate-visitor-closes": () => {
    const map = keyTrie(join(directory, "validate-close.db"));
    for (let i = 0; i < 100; i++) map.insert(keyHash(i));
    return { validate: outcome(() => map.validate(() => map.close())) };
  },

  /**
   * A trie table whose name offset (16) puts the name inside the trie's own
   * 32-byte header, over the low byte of the root word (88 = "X"): the table's
   * end, below which no node may start, moves to 72, inside the header. Root
   * slot 0 then points at 72, the reserved allocator word (8 zero bytes: a
   * 64-bit hash of zeros, with no data).
   */
  "trie-name-inside-header": () => {
    const path = join(directory, "name-inside-header.db");
    const options = { name: "X", hashBits: 64, dataBytes: 0, rootBits: 8, capacity: 1 << 20 };
    OnDiskTrieRawHashMap.create(path, options).close();
    // Table at 48: name offset at +4; the root subtrie at 88 (after the 32-byte header and "X\0"), slot 0 at 96.
    poke(path, 48 + 4, int32(16));
    poke(path, 88 + 8, int64(72));
    const report: Record<string, unknown> = {};
    report.open = outcome(() => {
      using map = OnDiskTrieRawHashMap.create(path, options);
      report.findOffset = map.findOffset(new Uint8Array(8));
      report.validate = outcome(() => map.validate());
    });
    const verify = main(["verify", path]);
    report.verifyExitCode = verify.exitCode;
    return report;
  },

  /**
   * A data pool whose name offset (24) puts the name inside its 64-byte user
   * header (the creator wrote "p" there): the first block may then start in the
   * user header, and get() hands out header bytes as a block.
   */
  "pool-name-inside-user-header": () => {
    const path = join(directory, "pool-name.db");
    OnDiskDataAllocator.create(path, { name: "p", capacity: 1 << 20, userHeaderBytes: 64, initializeUserHeader: (header) => void (header[0] = "p".charCodeAt(0)) }).close();
    poke(path, 48 + 4, int32(24));
    const report: Record<string, unknown> = {};
    report.open = outcome(() => {
      using pool = OnDiskDataAllocator.create(path, { name: "p", capacity: 1 << 20 });
      report.userHeaderEnd = pool.userHeader.byteOffset + pool.userHeader.length;
      report.dataStart = pool.dataStart;
      report.getInsideHeader = outcome(() => pool.get(pool.dataStart, 8));
    });
    return report;
  },

  /**
   * A writer's open of a corrupt database file larger than the pre-open
   * snapshot (128 KiB): its root table offset points past the snapshot, at
   * bytes that are no table. The open must refuse it and leave every byte as it was.
   */
  "refused-open-of-large-corrupt-file": () => {
    const path = join(directory, "large-corrupt.db");
    {
      using map = keyTrie(path);
      for (let i = 0; i < 5000; i++) map.insert(keyHash(i));
    }
    poke(path, 8, int64(200_000)); // 8-aligned, below the bump pointer (~800 KB), past the snapshot
    rmSync(`${path}.shared`, { force: true }); // as a file copied elsewhere arrives
    const before = readFileSync(path);
    const open = outcome(() => keyTrie(path).close());
    const after = readFileSync(path);
    const changedAt: number[] = [];
    for (let at = 0; at < Math.max(before.length, after.length) && changedAt.length < 8; at++) if (before[at] !== after[at]) changedAt.push(at);
    return { open, lengthBefore: before.length, lengthAfter: after.length, changedAt, sharedCreated: existsSync(`${path}.shared`) };
  },

  /** findOffsets with its answers written over the hashes' own buffer (a caller reusing one buffer). */
  "find-offsets-into-the-hashes-buffer": () => {
    using map = keyTrie(join(directory, "aliased.db"));
    const count = 20;
    const buffer = new ArrayBuffer(count * 32);
    const hashes = new Uint8Array(buffer);
    const expected: number[] = [];
    for (let i = 0; i < count; i++) {
      expected.push(map.insertOffset(keyHash(i)));
      hashes.set(keyHash(i), i * 32);
    }
    const offsets = new Int32Array(buffer, 0, count);
    const outcomeOfCall = outcome(() => map.findOffsets(hashes, offsets));
    return { call: outcomeOfCall, right: outcomeOfCall === "ok" ? Array.from(offsets).every((offset, i) => offset === expected[i]) : null };
  },

  /**
   * An async initializer returns at its first await: insert would publish the
   * record before the initializer writes its data, and a failure after the
   * await would be an unhandled rejection. The arena refuses a thenable from
   * onCreate for exactly this (refuseThenable); insert and initializeUserHeader
   * must too. Reports, after the rejections have had time to land, what each
   * call did and whether the record was published with its data unwritten.
   */
  "async-initializers": async () => {
    using map = keyTrie(join(directory, "async-initializer.db"));
    const insert = outcome(() =>
      map.insert(keyHash(1), (async (data: Uint8Array) => {
        await Bun.sleep(1);
        data[0] = 1;
        throw new Error("the initializer failed after its first await");
      }) as unknown as (data: Uint8Array) => void),
    );
    const publishedBeforeWritten = map.find(keyHash(1))?.data[0] === 0;
    const poolCreate = outcome(() =>
      OnDiskDataAllocator.create(join(directory, "async-header.db"), {
        name: "p",
        capacity: 1 << 20,
        userHeaderBytes: 8,
        initializeUserHeader: (async (header: Uint8Array) => {
          await Bun.sleep(1);
          header[0] = 1;
          throw new Error("the header initializer failed after its first await");
        }) as unknown as (header: Uint8Array) => void,
      }).close(),
    );
    await Bun.sleep(100); // the rejections land here: unhandled, they end this process
    return { insert, publishedBeforeWritten, poolCreate };
  },

  /**
   * separateBuffer's `end` is an offset like get()'s: checked the same way. And
   * findOffsets with a detached `hashes`: an argument error that names it.
   */
  "argument-checks": () => {
    using pool = OnDiskDataAllocator.create(join(directory, "separate.db"), { name: "p", capacity: 1 << 20 });
    using map = keyTrie(join(directory, "detached-hashes.db"));
    const hashes = keyHash(1);
    (hashes.buffer as ArrayBuffer).transfer(); // detaches `hashes`
    let detachedHashes = "no error";
    try {
      map.findOffsets(hashes, new Int32Array(1));
    } catch (error) {
      detachedHashes = `${(error as Error).constructor.name}: ${(error as Error).message}`;
    }
    return {
      nan: outcome(() => pool.separateBuffer(Number.NaN)),
      negative: outcome(() => pool.separateBuffer(-1)),
      text: outcome(() => pool.separateBuffer("64" as unknown as number)),
      fraction: outcome(() => pool.separateBuffer(0.5)),
      detachedHashes,
    };
  },
};

function runWriter(path: string, from: number, to: number): void {
  const result = Bun.spawnSync([process.execPath, import.meta.path, "grow-writer", directory, path, String(from), String(to)]);
  if (result.exitCode !== 0) throw new Error(`writer failed: ${result.stderr.toString()}`);
}

const run = scenarios[scenario];
if (run === undefined) throw new Error(`unknown scenario ${scenario}`);
process.stdout.write(`${JSON.stringify(await run())}\n`);
