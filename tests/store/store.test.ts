// ContentStore in one process: ids, refs, large objects, the action cache, bad
// arguments, validation of damaged stores, and recovery once per boot.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { ArenaError, ContentStore, OnDiskDataAllocator, OnDiskTrieRawHashMap } from "../../lib/index.ts";
import { tempDirectory } from "../support/temp.ts";
import { objectBytes, sha256Hex } from "./support.ts";

const root = tempDirectory("store-unit-");
let stores = 0;
function freshDirectory(): string {
  stores += 1;
  return join(root, `store-${stores}`);
}
const text = (value: string) => new TextEncoder().encode(value);

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return error instanceof ArenaError ? error.code : (error as Error).name;
  }
  return undefined;
}

/** The node hash as docs/DESIGN.md (the content store section) defines it, computed independently. */
function nodeId(data: Uint8Array, refs: string[]): string {
  const header = new Uint8Array(16 + 8 + 32 * refs.length + 8 + 32);
  const view = new DataView(header.buffer);
  header.set(text("mfa.cas.node.v1\0"), 0);
  view.setBigUint64(16, BigInt(refs.length), true);
  refs.forEach((ref, index) => header.set(Buffer.from(ref, "hex"), 24 + 32 * index));
  view.setBigUint64(24 + 32 * refs.length, BigInt(data.length), true);
  header.set(new Bun.CryptoHasher("sha256").update(data).digest(), 32 + 32 * refs.length);
  return new Bun.CryptoHasher("sha512-256").update(header).digest("hex");
}

describe("objects", () => {
  test("a leaf's id is the SHA-256 of its bytes; get returns a copy", () => {
    using store = ContentStore.open(freshDirectory());
    for (const bytes of [new Uint8Array(0), text("hello"), objectBytes(1, 1000)]) {
      const id = store.put(bytes);
      expect(id).toBe(sha256Hex(bytes));
      expect(store.has(id)).toBe(true);
      const got = store.get(id)!;
      expect(got.refs).toEqual([]);
      expect([...got.data]).toEqual([...bytes]);
      if (got.data.length > 0) got.data[0]! ^= 0xff;
      expect(sha256Hex(store.get(id)!.data)).toBe(id);
    }
    expect(store.get("0".repeat(64))).toBeNull();
    expect(store.has("0".repeat(64))).toBe(false);
  });

  test("getInto copies the data into the caller's buffer (pool, large file, node); too small copies nothing", () => {
    using store = ContentStore.open(freshDirectory());
    const small = objectBytes(2, 1000);
    const large = objectBytes(3, 70_000); // a file of its own: the general path
    const leaf = store.put(small);
    const node = store.put(text("node data"), [leaf]);
    const target = new Uint8Array(80_000);
    for (const [id, bytes] of [[leaf, small], [store.put(large), large], [node, text("node data")]] as const) {
      target.fill(0xee);
      expect(store.getInto(id, target)).toBe(bytes.length);
      expect(sha256Hex(target.subarray(0, bytes.length))).toBe(sha256Hex(bytes));
      expect(target[bytes.length]).toBe(0xee); // nothing past the data
    }
    const short = new Uint8Array(999).fill(7);
    expect(store.getInto(leaf, short)).toBe(1000);
    expect(short.every((byte) => byte === 7)).toBe(true);
    expect(store.getInto("0".repeat(64), target)).toBe(-1);
    expect(codeOf(() => store.getInto(leaf, [] as unknown as Uint8Array))).toBe("TypeError");
    expect(codeOf(() => store.getInto("xyz", target))).toBe("RangeError");
  });

  test("a node's id is the documented SHA-512/256 over its refs and the SHA-256 of its data", () => {
    using store = ContentStore.open(freshDirectory());
    const a = store.put(text("a"));
    const b = store.put(text("b"));
    const node = store.put(text("tree"), [a, b]);
    expect(node).toBe(nodeId(text("tree"), [a, b]));
    expect(node).not.toBe(sha256Hex(text("tree")));
    expect(store.put(text("tree"), [b, a])).not.toBe(node); // order matters
    expect(store.put(text("tree"), [])).toBe(sha256Hex(text("tree"))); // no refs: a leaf
    const got = store.get(node)!;
    expect(got.refs).toEqual([a, b]);
    expect(new TextDecoder().decode(got.data)).toBe("tree");
    expect(store.put(text("root"), [node, a])).toBe(nodeId(text("root"), [node, a]));
  });

  test("a ref that is not in the store is refused, and nothing is stored", () => {
    using store = ContentStore.open(freshDirectory());
    const before = store.stats().storageBytes;
    expect(codeOf(() => store.put(text("x"), ["ab".repeat(32)]))).toBe("ERR_CAS_MISSING_REF");
    expect(store.has(nodeId(text("x"), ["ab".repeat(32)]))).toBe(false);
    expect(store.stats().storageBytes).toBe(before);
  });

  test("objects of 64 KiB and more get a file of their own, complete, with no temporary left", () => {
    const directory = freshDirectory();
    {
      using store = ContentStore.open(directory);
      const leaf = objectBytes(7, 64 * 1024);
      const id = store.put(leaf);
      const small = store.put(text("small"));
      const node = store.put(objectBytes(8, 200_000), [id, small]);
      expect(existsSync(join(directory, "v1.0", `leaf.${id}`))).toBe(true);
      expect(existsSync(join(directory, "v1.0", `obj.${node}`))).toBe(true);
      expect(readdirSync(join(directory, "v1.0")).filter((name) => name.endsWith(".tmp"))).toEqual([]);
      expect(store.stats().generations[0]!.largeObjectBytes).toBe(64 * 1024 + 200_000 + 16 + 64);
    }
    using store = ContentStore.open(directory, { verifyOnRead: true });
    const leaf = objectBytes(7, 64 * 1024);
    expect(sha256Hex(store.get(sha256Hex(leaf))!.data)).toBe(sha256Hex(leaf));
    expect(store.validate({ deep: true }).problems).toEqual([]);
  });

  test("everything put is there after reopening", () => {
    const directory = freshDirectory();
    const ids: string[] = [];
    {
      using store = ContentStore.open(directory);
      for (let index = 0; index < 500; index++) ids.push(store.put(objectBytes(index, 100 + index)));
      store.actions.put("build", ids[3]!);
    }
    using store = ContentStore.open(directory, { verifyOnRead: true });
    expect(ids.every((id) => store.get(id) !== null)).toBe(true);
    expect(store.actions.get("build")).toBe(ids[3]!);
  });

  test("wrong arguments are TypeError or RangeError naming them; a closed store is ERR_CAS_CLOSED", () => {
    const store = ContentStore.open(freshDirectory());
    expect(() => store.put("text" as never)).toThrow(TypeError);
    expect(() => store.put(text("x"), "ab" as never)).toThrow(TypeError);
    expect(() => store.put(text("x"), ["nothex"])).toThrow("refs[0]");
    expect(() => store.get("ABCD")).toThrow(RangeError);
    expect(() => store.get(`${"a".repeat(63)}g`)).toThrow(RangeError);
    expect(store.has("A".repeat(64))).toBe(false); // hex in either case
    expect(() => store.has(42 as never)).toThrow(TypeError);
    expect(() => ContentStore.open(freshDirectory(), { maxBytes: 1000 })).toThrow(RangeError);
    expect(() => ContentStore.open(freshDirectory(), { verifyOnRead: "yes" as never })).toThrow("options.verifyOnRead");
    store.close();
    store.close();
    expect(codeOf(() => store.get("0".repeat(64)))).toBe("ERR_CAS_CLOSED");
  });
});

describe("action cache", () => {
  test("first writer wins; another id for the same key is ERR_CAS_POISONED and the stored id is kept", () => {
    using store = ContentStore.open(freshDirectory());
    const first = store.put(text("result 1"));
    const second = store.put(text("result 2"));
    expect(store.actions.get("compile a.c")).toBeNull();
    store.actions.put("compile a.c", first);
    store.actions.put("compile a.c", first); // the same again is fine
    expect(codeOf(() => store.actions.put("compile a.c", second))).toBe("ERR_CAS_POISONED");
    expect(store.actions.get("compile a.c")).toBe(first);
    expect(store.actions.get(text("compile a.c"))).toBe(first); // a string and its UTF-8 are one key
    expect(codeOf(() => store.actions.put("other", "cd".repeat(32)))).toBe("ERR_CAS_MISSING_REF");
    expect(() => store.actions.get(7 as never)).toThrow(TypeError);
  });
});

/** Opens a closed store's generation tables directly, to damage them. */
function rawTables(directory: string) {
  const generation = join(directory, "v1.0");
  const index = OnDiskTrieRawHashMap.create(join(generation, "index.v1"), {
    name: "mfa.cas.index[sha256]",
    hashBits: 256,
    dataBytes: 8,
    capacity: 2 ** 31,
  });
  const pool = OnDiskDataAllocator.create(join(generation, "data.v1"), { name: "mfa.cas.data[sha256]", capacity: 2 ** 31 });
  return {
    word: (id: string) => new DataView(index.find(Buffer.from(id, "hex"))!.data.buffer, index.find(Buffer.from(id, "hex"))!.data.byteOffset, 8),
    pool,
    [Symbol.dispose]() {
      index.close();
      pool.close();
    },
  };
}

describe("validate", () => {
  function damaged(damage: (directory: string, ids: { small: string; large: string; node: string }) => void) {
    const directory = freshDirectory();
    let ids;
    {
      using store = ContentStore.open(directory);
      const small = store.put(objectBytes(1, 500));
      const large = store.put(objectBytes(2, 100_000));
      ids = { small, large, node: store.put(text("node"), [small, large]) };
      store.actions.put("key", ids.node);
      expect(store.validate({ deep: true }).valid).toBe(true);
    }
    damage(directory, ids);
    return { store: ContentStore.open(directory), ids };
  }

  test("a flipped byte in the pool: found by deep validation and by verifyOnRead, not by a shallow one", () => {
    const { store, ids } = damaged((directory, { small }) => {
      using tables = rawTables(directory);
      const offset = Number(tables.word(small).getBigUint64(0, true) & 0xff_ffff_ffff_ffffn);
      tables.pool.get(offset + 16 + 100, 1)[0]! ^= 1;
    });
    using _ = store;
    expect(store.validate().valid).toBe(true);
    const report = store.validate({ deep: true });
    expect(report.problems.length).toBe(1);
    expect(report.problems[0]).toContain(`object ${ids.small} does not hash to its id`);
    store.close();
    using verifying = ContentStore.open(store.directory, { verifyOnRead: true });
    expect(codeOf(() => verifying.get(ids.small))).toBe("ERR_CAS_CORRUPT");
  });

  test("an index word pointing outside the pool: reported, and get is ERR_CAS_CORRUPT", () => {
    const { store, ids } = damaged((directory, { small }) => {
      using tables = rawTables(directory);
      tables.word(small).setBigUint64(0, (1n << 56n) | 0x7fff_0000n, true);
    });
    using _ = store;
    const report = store.validate();
    expect(report.problems.some((problem) => problem.includes(ids.small) && problem.includes("outside the pool"))).toBe(true);
    expect(codeOf(() => store.get(ids.small))).toBe("ERR_CAS_CORRUPT");
  });

  test("an unknown storage kind, a missing and a truncated large-object file: each reported", () => {
    const { store, ids } = damaged((directory, { small, large }) => {
      using tables = rawTables(directory);
      tables.word(small).setUint8(7, 99);
      rmSync(join(directory, "v1.0", `leaf.${large}`));
    });
    using _ = store;
    const problems = store.validate().problems.join("\n");
    expect(problems).toContain("unknown storage kind 99");
    expect(problems).toContain(`leaf.${ids.large} is missing`);
    expect(codeOf(() => store.get(ids.large))).toBe("ERR_CAS_CORRUPT");

    const second = damaged((directory, { large }) => truncateSync(join(directory, "v1.0", `leaf.${large}`), 10));
    using __ = second.store;
    expect(second.store.validate().problems.join("\n")).toContain("has 10 bytes, not 100000");
  });
});

describe("validateIfNeeded", () => {
  test("validates once per boot unless forced; a corrupt store is moved aside and starts afresh", () => {
    const directory = freshDirectory();
    let id: string;
    {
      using store = ContentStore.open(directory);
      id = store.put(objectBytes(3, 300));
    }
    expect(ContentStore.validateIfNeeded(directory).outcome).toBe("valid");
    expect(ContentStore.validateIfNeeded(directory).outcome).toBe("skipped");
    {
      using tables = rawTables(directory);
      tables.word(id).setUint8(7, 99);
    }
    expect(ContentStore.validateIfNeeded(directory).outcome).toBe("skipped"); // once per boot
    expect(codeOf(() => ContentStore.validateIfNeeded(directory, { force: true, allowRecovery: false }))).toBe("ERR_CAS_CORRUPT");
    {
      using _open = ContentStore.open(directory);
      expect(codeOf(() => ContentStore.validateIfNeeded(directory, { force: true }))).toBe("ERR_CAS_BUSY");
    }
    const result = ContentStore.validateIfNeeded(directory, { force: true });
    expect(result.outcome).toBe("recovered");
    expect(result.problems.length).toBeGreaterThan(0);
    expect(readdirSync(directory).filter((name) => name.startsWith("corrupt."))).toEqual(["corrupt.0.v1.0"]);
    using store = ContentStore.open(directory);
    expect(store.has(id)).toBe(false);
    expect(store.validate({ deep: true }).valid).toBe(true);
    expect(store.gc({ includeCorrupt: true })).toEqual(["corrupt.0.v1.0"]);
  });
});
