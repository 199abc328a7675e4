/**
 * Issue 8 review: append(bytes) sized the allocation from `bytes.length`, which an
 * instance or a subclass can redefine, while the copy (Uint8Array.set) uses the
 * real length: a lying 0 wrote past the allocation, over the next one. append now
 * reads the length with the built-in getter. In process: the broken version
 * wrote inside the mapping (no crash), into bytes it had not been given.
 */
import { expect, test } from "bun:test";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { freshPath, tempDirectory } from "../../support/temp.ts";

const directory = tempDirectory("mfa-lying-length-");

class ShortBytes extends Uint8Array {
  override get length(): number {
    return 0;
  }
}

for (const [name, make] of [
  ["an instance whose length and byteLength are redefined", () => {
    const bytes = new Uint8Array(64).fill(7);
    Object.defineProperty(bytes, "length", { value: 0 });
    Object.defineProperty(bytes, "byteLength", { value: 0 });
    return bytes;
  }],
  ["a subclass whose length getter lies", () => new ShortBytes(64).fill(7)],
] as const) {
  for (const via of ["arena", "block allocator"] as const) {
    test(`issue 8 review: append through the ${via} sizes the allocation from the real length, for ${name}`, () => {
      using arena = MappedFileRegionArena.create(freshPath(directory), { capacity: 1 << 16 });
      const appender = via === "arena" ? arena : arena.blockAllocator(4096);
      const offset = appender.append(make());
      const next = appender.allocateOffset(8);
      expect(next).toBeGreaterThanOrEqual(offset + 64);
      expect(arena.bytes(offset, 64).every((byte) => byte === 7)).toBe(true);
    });
  }
}
