/**
 * The open / allocate / close protocol of one arena, in one process (plus one
 * child process for "another opener holds it"). Mirrors lib/arena/arena.ts and
 * lib/arena/protocol.ts.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";
import { expectArenaError } from "../support/expect.ts";
import { spawnChild } from "../support/processes.ts";

const directory = tempDirectory();
const MiB = 1024 * 1024;

/** The four header words as they are on disk, little-endian. */
function headerOnDisk(path: string, headerOffset = 0) {
  const bytes = readFileSync(path);
  const word = (index: number) => Number(bytes.readBigUInt64LE(headerOffset + index * 8));
  return { bumpPtr: word(0), allocatedSize: word(1), capacity: word(2), headerOffset: word(3) };
}

describe("a new arena", () => {
  test("starts right after the header, with the .shared companion beside it", () => {
    const path = freshPath(directory);
    using arena = MappedFileRegionArena.create(path, { capacity: MiB });
    expect(MappedFileRegionArena.alignment).toBe(8);
    expect(arena.path).toBe(path);
    expect(arena.capacity).toBe(MiB);
    expect(arena.headerOffset).toBe(0);
    expect(arena.size).toBe(32);
    expect(arena.closed).toBe(false);
    expect(arena.allocateOffset(10)).toBe(32);
    expect(arena.size).toBe(48);
    expect(existsSync(`${path}.shared`)).toBe(true);
    expect(statSync(path).size).toBe(MiB); // full size while open
  });

  test("with a custom headerOffset, the bytes before it are the caller's", () => {
    const path = freshPath(directory);
    const magic = new TextEncoder().encode("MYMAGIC1");
    let created = 0;
    const arena = MappedFileRegionArena.create(path, {
      capacity: MiB,
      headerOffset: 64,
      onCreate(fresh) {
        created += 1;
        expect(fresh.size).toBe(96);
        fresh.bytes(0, magic.length).set(magic);
      },
    });
    expect(created).toBe(1);
    expect(arena.allocateOffset(1)).toBe(96);
    arena.close();
    const again = MappedFileRegionArena.create(path, { capacity: MiB, headerOffset: 64, onCreate: () => void created++ });
    expect(created).toBe(1);
    expect(again.bytes(0, magic.length)).toEqual(magic);
    expect(again.size).toBe(104);
    again.close();
    expect(headerOnDisk(path, 64)).toMatchObject({ bumpPtr: 104, capacity: MiB, headerOffset: 64 });
  });

  test("is laid out on disk exactly as LLVM lays it out", () => {
    const path = freshPath(directory);
    const arena = MappedFileRegionArena.create(path, { capacity: 4 * MiB, headerOffset: 8 });
    arena.allocateOffset(100);
    arena.close();
    const words = headerOnDisk(path, 8);
    expect(words).toMatchObject({ bumpPtr: 8 + 32 + 104, capacity: 4 * MiB, headerOffset: 8 });
    expect(words.allocatedSize).toBeGreaterThan(0);
    expect(statSync(path).size).toBe(words.bumpPtr); // shrunk by the last close
  });
});

describe("reopening", () => {
  test("keeps the data and the size", () => {
    const path = freshPath(directory);
    const arena = MappedFileRegionArena.create(path, { capacity: MiB });
    const record = new TextEncoder().encode("persistent bytes");
    const offset = arena.append(record);
    const size = arena.size;
    arena.close();
    using again = MappedFileRegionArena.create(path, { capacity: MiB });
    expect(again.size).toBe(size);
    expect(again.bytes(offset, record.length)).toEqual(record);
    expect(again.allocateOffset(8)).toBe(size);
  });

  test("the stored capacity wins over a requested one, smaller or larger", () => {
    const path = freshPath(directory);
    MappedFileRegionArena.create(path, { capacity: 2 * MiB }).close();
    for (const requested of [64 * 1024, 8 * MiB]) {
      using arena = MappedFileRegionArena.create(path, { capacity: requested });
      expect(arena.capacity).toBe(2 * MiB);
      expect(statSync(path).size).toBe(2 * MiB);
    }
  });

  test("with another headerOffset is refused, and the file is left as it was", () => {
    const path = freshPath(directory);
    const arena = MappedFileRegionArena.create(path, { capacity: MiB, headerOffset: 16 });
    arena.append(new Uint8Array(40).fill(9));
    arena.close();
    const before = readFileSync(path);
    for (const wrong of [0, 8, 24, 4096]) {
      const error = expectArenaError(() => MappedFileRegionArena.create(path, { capacity: MiB, headerOffset: wrong }), "ERR_ARENA_HEADER_MISMATCH");
      expect(error.path).toBe(path);
      expect(error.message).toContain("at offset 16");
    }
    expect(readFileSync(path)).toEqual(before);
  });
});

describe("allocation", () => {
  test("every size from 0 to 64 is placed at a multiple of 8, back to back", () => {
    using arena = MappedFileRegionArena.create(freshPath(directory), { capacity: MiB });
    let expected = arena.size;
    for (let size = 0; size <= 64; size++) {
      const offset = arena.allocateOffset(size);
      expect(offset % 8).toBe(0);
      expect(offset).toBe(expected);
      expected += Math.ceil(size / 8) * 8;
    }
    expect(arena.size).toBe(expected);
  });

  test("allocate(0) gives an empty view and moves nothing", () => {
    using arena = MappedFileRegionArena.create(freshPath(directory), { capacity: MiB });
    const before = arena.size;
    const view = arena.allocate(0);
    expect(view.length).toBe(0);
    expect(arena.allocateOffset(0)).toBe(before);
    expect(arena.size).toBe(before);
  });

  test("allocate, append and bytes see the same memory", () => {
    using arena = MappedFileRegionArena.create(freshPath(directory), { capacity: MiB });
    const view = arena.allocate(5);
    view.set([1, 2, 3, 4, 5]);
    const offset = arena.size - 8;
    expect(arena.bytes(offset, 5)).toEqual(new Uint8Array([1, 2, 3, 4, 5]));
    const appended = arena.append(new Uint8Array([7, 7, 7]));
    expect(arena.bytes(appended, 3)).toEqual(new Uint8Array([7, 7, 7]));
    expect(appended).toBe(offset + 8);
  });

  test("a full arena refuses, puts the bump pointer back, and still fits what fits", () => {
    const path = freshPath(directory);
    using arena = MappedFileRegionArena.create(path, { capacity: 4096 });
    arena.allocateOffset(4000);
    const size = arena.size;
    const error = expectArenaError(() => arena.allocateOffset(100), "ERR_ARENA_FULL");
    expect(error.message).toContain("full");
    expect(arena.size).toBe(size);
    expect(headerOnDisk(path).bumpPtr).toBe(size); // the word itself, not only our reading of it
    expectArenaError(() => arena.allocate(5000), "ERR_ARENA_FULL");
    expect(arena.allocateOffset(4096 - size)).toBe(size);
    expect(arena.size).toBe(4096);
    expectArenaError(() => arena.allocateOffset(1), "ERR_ARENA_FULL");
    expect(arena.allocateOffset(0)).toBe(4096);
  });
});

describe("disk use", () => {
  test("the file is sparse while open: disk follows what is allocated, not the capacity", () => {
    const path = freshPath(directory);
    using arena = MappedFileRegionArena.create(path, { capacity: 1024 * MiB });
    for (let index = 0; index < 1000; index++) arena.append(new Uint8Array(1000).fill(1));
    const { size, blocks } = statSync(path);
    expect(size).toBe(1024 * MiB);
    expect(blocks * 512).toBeGreaterThanOrEqual(arena.size); // reserved ahead of the bump pointer
    expect(blocks * 512).toBeLessThan(8 * MiB);
  });

  test("a large allocation reserves disk up to its end (LLVM reserves only 1 MiB more)", () => {
    const path = freshPath(directory);
    using arena = MappedFileRegionArena.create(path, { capacity: 256 * MiB });
    const offset = arena.allocateOffset(20 * MiB);
    expect(statSync(path).blocks * 512).toBeGreaterThanOrEqual(offset + 20 * MiB);
  });

  test("the last close shrinks the file to size", () => {
    const path = freshPath(directory);
    const arena = MappedFileRegionArena.create(path, { capacity: 64 * MiB });
    arena.append(new Uint8Array(12345));
    const size = arena.size;
    arena.close();
    expect(statSync(path).size).toBe(size);
  });

  test("no shrink while another instance in this process holds it", () => {
    const path = freshPath(directory);
    const first = MappedFileRegionArena.create(path, { capacity: 8 * MiB });
    const second = MappedFileRegionArena.create(path, { capacity: 8 * MiB });
    first.append(new Uint8Array(100));
    first.close();
    expect(statSync(path).size).toBe(8 * MiB);
    second.close();
    expect(statSync(path).size).toBe(32 + 104);
  });

  test("no shrink while another process holds it", async () => {
    const path = freshPath(directory);
    MappedFileRegionArena.create(path, { capacity: 8 * MiB }).close();
    const holder = spawnChild("hold-open.ts", [path, 8 * MiB]);
    const reader = holder.stdout!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("open");
    const arena = MappedFileRegionArena.create(path, { capacity: 8 * MiB });
    arena.append(new Uint8Array(64));
    arena.close();
    expect(statSync(path).size).toBe(8 * MiB);
    holder.stdin.write("close\n");
    holder.stdin.end();
    expect(await holder.exited).toBe(0);
    expect(statSync(path).size).toBe(32 + 64); // the holder was the last, and shrank it
  });
});

describe("closing", () => {
  test("is idempotent, works with `using`, and keeps size readable", () => {
    const path = freshPath(directory);
    let kept: MappedFileRegionArena;
    {
      using arena = MappedFileRegionArena.create(path, { capacity: MiB });
      arena.allocateOffset(8);
      kept = arena;
    }
    expect(kept.closed).toBe(true);
    expect(kept.size).toBe(40);
    kept.close();
    expect(statSync(path).size).toBe(40);
  });

  test("every call after close is ERR_ARENA_CLOSED", () => {
    const arena = MappedFileRegionArena.create(freshPath(directory), { capacity: MiB });
    arena.close();
    expectArenaError(() => arena.allocateOffset(8), "ERR_ARENA_CLOSED");
    expectArenaError(() => arena.allocate(8), "ERR_ARENA_CLOSED");
    expectArenaError(() => arena.append(new Uint8Array(1)), "ERR_ARENA_CLOSED");
    expectArenaError(() => arena.bytes(0, 8), "ERR_ARENA_CLOSED");
    expectArenaError(() => arena.sync(), "ERR_ARENA_CLOSED");
  });
});

describe("wrong arguments are TypeError or RangeError naming the argument, and touch nothing", () => {
  const cases: [string, () => unknown, ErrorConstructor, string][] = [
    ["path not a string", () => MappedFileRegionArena.create(42 as never, { capacity: MiB }), TypeError, "path"],
    ["empty path", () => MappedFileRegionArena.create("", { capacity: MiB }), RangeError, "path"],
    ["no options", () => MappedFileRegionArena.create(freshPath(directory), undefined as never), TypeError, "options"],
    ["capacity missing", () => MappedFileRegionArena.create(freshPath(directory), {} as never), TypeError, "options.capacity"],
    ["capacity negative", () => MappedFileRegionArena.create(freshPath(directory), { capacity: -1 }), RangeError, "options.capacity"],
    ["capacity fractional", () => MappedFileRegionArena.create(freshPath(directory), { capacity: 1.5 }), RangeError, "options.capacity"],
    ["capacity too small", () => MappedFileRegionArena.create(freshPath(directory), { capacity: 31 }), RangeError, "options.capacity"],
    ["header too big for capacity", () => MappedFileRegionArena.create(freshPath(directory), { capacity: 64, headerOffset: 40 }), RangeError, "options.capacity"],
    ["headerOffset unaligned", () => MappedFileRegionArena.create(freshPath(directory), { capacity: MiB, headerOffset: 4 }), RangeError, "options.headerOffset"],
    ["headerOffset a string", () => MappedFileRegionArena.create(freshPath(directory), { capacity: MiB, headerOffset: "8" as never }), TypeError, "options.headerOffset"],
    ["onCreate not a function", () => MappedFileRegionArena.create(freshPath(directory), { capacity: MiB, onCreate: 1 as never }), TypeError, "options.onCreate"],
  ];
  for (const [name, run, type, argument] of cases) {
    test(name, () => {
      expect(run).toThrow(type);
      expect(run).toThrow(argument);
    });
  }

  test("no file is created by a refused create", () => {
    const path = freshPath(directory);
    expect(() => MappedFileRegionArena.create(path, { capacity: 8 })).toThrow(RangeError);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.shared`)).toBe(false);
  });

  test("allocation arguments", () => {
    using arena = MappedFileRegionArena.create(freshPath(directory), { capacity: MiB });
    const size = arena.size;
    expect(() => arena.allocateOffset(-1)).toThrow(RangeError);
    expect(() => arena.allocateOffset(1.5)).toThrow("size");
    expect(() => arena.allocateOffset("8" as never)).toThrow(TypeError);
    expect(() => arena.allocateOffset(Number.NaN)).toThrow(RangeError);
    expect(() => arena.append([1, 2] as never)).toThrow(TypeError);
    expect(() => arena.bytes(-8, 8)).toThrow("offset");
    expect(() => arena.bytes(0, MiB + 1)).toThrow(RangeError);
    expect(() => arena.bytes(MiB - 4, 8)).toThrow("capacity");
    expect(arena.bytes(MiB - 8, 8).length).toBe(8);
    expect(arena.size).toBe(size);
  });
});

describe("system errors are ArenaErrors named after errno", () => {
  test("a missing directory is ENOENT, with syscall and path", () => {
    const path = `${directory}/no/such/dir/arena.bin`;
    const error = expectArenaError(() => MappedFileRegionArena.create(path, { capacity: MiB }), "ENOENT");
    expect(error.syscall).toBe("open");
    expect(error.path).toBe(path);
  });

  test("a directory is refused as not a file", () => {
    const error = expectArenaError(() => MappedFileRegionArena.create(directory, { capacity: MiB }), "ERR_ARENA_NOT_A_FILE");
    expect(error.path).toBe(directory);
    expect(existsSync(`${directory}.shared`)).toBe(false);
  });
});
