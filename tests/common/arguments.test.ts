import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { ContentStore, MappedFileRegionArena, OnDiskDataAllocator, OnDiskTrieRawHashMap, RecordLog } from "../../lib/index.ts";
import { requireBytes, requireBytesLength } from "../../lib/common/arguments.ts";
import { tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("arguments-");

/** A Uint8Array whose buffer was transferred away (it now reads as empty). */
function detached(): Uint8Array {
  const bytes = new Uint8Array(16);
  structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
  return bytes;
}

describe("a detached array is a TypeError naming the argument, not the engine's error", () => {
  test("requireBytes and requireBytesLength", () => {
    expect(() => requireBytes(detached(), "bytes")).toThrow(new TypeError("bytes must not be detached (its buffer was transferred)"));
    expect(() => requireBytesLength(detached(), "records[3]")).toThrow(new TypeError("records[3] must not be detached (its buffer was transferred)"));
    // An empty array that is not detached passes.
    expect(requireBytesLength(new Uint8Array(0), "bytes")).toBe(0);
  });

  test("arena.append and store.put refuse it and write nothing", () => {
    using arena = MappedFileRegionArena.create(join(directory, "arena"), { capacity: 1 << 20 });
    const size = arena.size;
    expect(() => arena.append(detached())).toThrow("bytes must not be detached");
    expect(arena.size).toBe(size);
    using store = ContentStore.open(join(directory, "store"));
    expect(() => store.put(detached())).toThrow("bytes must not be detached");
    using log = RecordLog.open(join(directory, "log"), { capacity: 1 << 20 });
    expect(() => log.append(detached())).toThrow("bytes must not be detached");
    expect(() => log.appendBatch([new Uint8Array(1), detached()])).toThrow("records[1] must not be detached");
    expect(log.stats().committed.count).toBe(0);
    expect(log.append(new Uint8Array(0))).toBeGreaterThan(0); // an empty record that is not detached is fine
    using untouched = ContentStore.open(join(directory, "store-untouched"));
    expect(store.stats().storageBytes).toBe(untouched.stats().storageBytes);
  });
});

describe("a misspelt option is a TypeError naming it, and nothing is created", () => {
  const cases: [string, (path: string) => unknown][] = [
    ["MappedFileRegionArena.create", (path) => MappedFileRegionArena.create(path, { capacity: 1 << 20, headeroffset: 8 } as never)],
    ["MappedFileRegionArena.openReadOnly", (path) => MappedFileRegionArena.openReadOnly(path, { headeroffset: 8 } as never)],
    ["OnDiskTrieRawHashMap.create", (path) => OnDiskTrieRawHashMap.create(path, { name: "t", hashBits: 64, dataBytes: 8, capacity: 1 << 20, rootbits: 4 } as never)],
    ["OnDiskDataAllocator.create", (path) => OnDiskDataAllocator.create(path, { name: "p", capacity: 1 << 20, userheaderbytes: 8 } as never)],
  ];
  for (const [what, open] of cases) {
    test(what, () => {
      const path = join(directory, `misspelt-${what}`);
      expect(() => open(path)).toThrow(TypeError);
      expect(() => open(path)).toThrow(/^options\.\w+ is not an option \(did you mean \w+\? the options are /);
      expect(existsSync(path)).toBe(false);
    });
  }

  test("an option set to undefined counts as absent", () => {
    using arena = MappedFileRegionArena.create(join(directory, "undefined-option"), { capacity: 1 << 20, ...{ extra: undefined } } as never);
    expect(arena.capacity).toBe(1 << 20);
  });
});

describe("the store's and the log's options are checked the same way", () => {
  test("a misspelt store, remote, validate or log option is a TypeError naming it, and nothing is created", async () => {
    const storeDirectory = join(directory, "misspelt-store");
    expect(() => ContentStore.open(storeDirectory, { maxbytes: 64 * 2 ** 20 } as never)).toThrow("options.maxbytes is not an option (did you mean maxBytes?");
    expect(() => ContentStore.open(storeDirectory, { remote: { url: "http://127.0.0.1:1", timeoutms: 5 } } as never)).toThrow(
      "options.remote.timeoutms is not an option (did you mean timeoutMs?",
    );
    expect(existsSync(storeDirectory)).toBe(false);
    const logPath = join(directory, "misspelt-log");
    expect(() => RecordLog.open(logPath, { capacity: 1 << 20, blocksize: 4096 } as never)).toThrow("options.blocksize is not an option (did you mean blockSize?");
    expect(existsSync(logPath)).toBe(false);
    expect(() => RecordLog.waitForLog(logPath, { timeout: 5 } as never)).toThrow("options.timeout is not an option");
  });

  test("validate and gc take an options object, not a string", () => {
    using store = ContentStore.open(join(directory, "validate-options"));
    expect(() => store.validate("deep" as never)).toThrow(new TypeError('options must be an object, got the string "deep"'));
    expect(() => store.validate({ depth: true } as never)).toThrow("options.depth is not an option (the options are deep)");
    expect(() => store.gc({ includecorrupt: true } as never)).toThrow("did you mean includeCorrupt?");
    expect(store.validate({ deep: true }).valid).toBe(true);
  });
});
