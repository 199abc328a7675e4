/**
 * arena.tryAllocateAt: an allocation by compare-and-swap at the bump pointer, for
 * layers (the record log) that must never see an allocation taken back. It
 * allocates only where the pointer is, refuses what does not fit without moving
 * the pointer, and checks its arguments.
 */
import { describe, expect, test } from "bun:test";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { expectArenaError } from "../support/expect.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("mfa-try-at-");
const capacity = 64 * 1024;

describe("tryAllocateAt", () => {
  test("allocates at the bump pointer, and only there", () => {
    using arena = MappedFileRegionArena.create(freshPath(directory, "at"), { capacity });
    const end = arena.size;
    expect(arena.tryAllocateAt(end + 8, 16)).toBe(false);
    expect(arena.size).toBe(end);
    expect(arena.tryAllocateAt(end, 13)).toBe(true);
    expect(arena.size).toBe(end + 16); // rounded up to 8, as allocateOffset does
    expect(arena.tryAllocateAt(end, 8)).toBe(false); // someone (we) allocated first
    expect(arena.allocateOffset(8)).toBe(end + 16);
  });

  test("what does not fit is ERR_ARENA_FULL with the bump pointer left where it was", () => {
    using arena = MappedFileRegionArena.create(freshPath(directory, "full"), { capacity });
    const end = arena.size;
    expectArenaError(() => arena.tryAllocateAt(end, capacity), "ERR_ARENA_FULL");
    expect(arena.size).toBe(end);
    expect(arena.tryAllocateAt(end, capacity - end)).toBe(true);
    expect(arena.size).toBe(capacity);
  });

  test("checks its arguments and refuses a closed arena", () => {
    const arena = MappedFileRegionArena.create(freshPath(directory, "args"), { capacity });
    expect(() => arena.tryAllocateAt(-8, 8)).toThrow(RangeError);
    expect(() => arena.tryAllocateAt(arena.size + 4, 8)).toThrow(/multiple of 8/);
    expect(() => arena.tryAllocateAt(arena.size, 1.5)).toThrow();
    arena.close();
    expectArenaError(() => arena.tryAllocateAt(0, 8), "ERR_ARENA_CLOSED");
  });
});
