import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ContentStore, MappedFileRegionArena } from "../../lib/index.ts";
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
    using untouched = ContentStore.open(join(directory, "store-untouched"));
    expect(store.stats().storageBytes).toBe(untouched.stats().storageBytes);
  });
});
