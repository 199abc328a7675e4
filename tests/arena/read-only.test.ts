/**
 * Issue 13 item 2: MappedFileRegionArena.openReadOnly. The reading, the writes
 * through views and the writer's close under a reader happen in child processes
 * (children/read-only-reader.ts), so a SIGBUS or SIGSEGV is a reported signal,
 * not the death of the test runner.
 *
 * Broken variant caught, built in: "no-in-use-locks" (lib/arena/read-only-testing.ts),
 * a reader that holds none of the in-use locks. The last writer's close then
 * shrinks the file under the reader, whose next read past the new end dies of
 * SIGBUS: the writer-close test asserts that for the broken variant.
 * The write-through-a-view test's control is a writer's shared mapping, where the
 * same write does reach the file.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { expectArenaError } from "../support/expect.ts";
import { asOtherUserPrefix, finished, lineReader, spawnChild, type ChildResult } from "../support/processes.ts";
import { withReadOnlyMount } from "../support/read-only-mount.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("mfa-read-only-");
const capacity = 4 * 1024 * 1024;
const headerOffset = 64;
const firstAllocation = headerOffset + 32;

/** A closed arena holding `chunks` 64 KiB allocations, each filled with its index + 1. */
function makeArena(path: string, chunks = 4, options: { headerOffset?: number } = {}): void {
  const arena = MappedFileRegionArena.create(path, { capacity, headerOffset: options.headerOffset ?? headerOffset });
  for (let chunk = 0; chunk < chunks; chunk++) arena.allocate(64 * 1024).fill(chunk + 1);
  arena.close();
}

function reportOf(result: ChildResult): Record<string, any> {
  if (result.exitCode !== 0) {
    throw new Error(`reader failed (${result.exitCode ?? result.signalCode}): ${result.stderr}`);
  }
  const lines = result.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!);
}

async function runReader(path: string, steps: string[], options: { asUser?: string[] } = {}): Promise<ChildResult> {
  const child = options.asUser
    ? Bun.spawn([...options.asUser, process.execPath, join(import.meta.dir, "../support/children/read-only-reader.ts"), path, String(headerOffset), ...steps], {
        stdin: "pipe",
        stdout: "pipe",
        stderr: "pipe",
      })
    : spawnChild("read-only-reader.ts", [path, headerOffset, ...steps]);
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    return await finished(child);
  } finally {
    clearTimeout(timer);
  }
}

/** A reader child whose steps include one "wait": waiting() resolves there, go() lets it finish. */
function startReader(path: string, steps: string[]) {
  const child = spawnChild("read-only-reader.ts", [path, headerOffset, ...steps]);
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const stdout = lineReader(child.stdout);
  return {
    waiting: () => stdout.waitFor((line) => line === "waiting", 60_000),
    async go(): Promise<ChildResult> {
      child.stdin.write("go\n");
      child.stdin.end();
      const report = await stdout.waitFor((line) => line.startsWith("{"), 60_000).catch(() => "");
      await child.exited;
      clearTimeout(timer);
      const stderr = await new Response(child.stderr).text();
      return { exitCode: child.exitCode, signalCode: child.signalCode, stdout: report, stderr };
    },
  };
}

const allRefused = {
  allocateOffset: "ERR_ARENA_READ_ONLY",
  allocate: "ERR_ARENA_READ_ONLY",
  append: "ERR_ARENA_READ_ONLY",
  blockAllocator: "ERR_ARENA_READ_ONLY",
  sync: "no error",
};

describe("openReadOnly on a closed arena", () => {
  test("reads what was written, refuses every allocation, and changes nothing on disk", async () => {
    const path = freshPath(directory);
    makeArena(path);
    rmSync(`${path}.shared`); // a shipped cache may come without one: none may be created
    const before = readFileSync(path);
    const mtimeBefore = statSync(path).mtimeMs;

    const report = reportOf(await runReader(path, ["open", "refuse", "scribble", "touch", "close"]));
    expect(report.readOnly).toBe(true);
    expect(report.size).toBe(firstAllocation + 4 * 64 * 1024);
    // A closed arena was shrunk to its bump pointer: that is all there is to map.
    expect(report.readableBytes).toBe(before.length);
    expect(report.capacity).toBe(capacity);
    expect(report.refused).toEqual(allRefused);
    expect(report.scribbledReadsBack).toBe(true);
    let sum = 0;
    for (const byte of before) sum = (sum + byte) % 0x7fffffff;
    expect(report.sum).toBe((sum - 64 * 1 + 64 * 0xee) % 0x7fffffff); // it read its own scribble

    expect(readFileSync(path).equals(before)).toBe(true);
    expect(statSync(path).mtimeMs).toBe(mtimeBefore);
    expect(existsSync(`${path}.shared`)).toBe(false);
  });

  test("control: the same write through a writer's view does reach the file", () => {
    const path = freshPath(directory);
    makeArena(path);
    const arena = MappedFileRegionArena.create(path, { capacity, headerOffset });
    arena.bytes(firstAllocation, 64).fill(0xee);
    arena.close();
    expect(readFileSync(path).subarray(firstAllocation, firstAllocation + 64).every((byte) => byte === 0xee)).toBe(true);
  });

  test("views, size and bytes() stay inside the file's length at open", () => {
    const path = freshPath(directory);
    makeArena(path, 1);
    // Nothing here reads past the file: a RangeError comes before any view.
    using arena = MappedFileRegionArena.openReadOnly(path, { headerOffset });
    const length = statSync(path).size;
    expect(arena.readableBytes).toBe(length);
    expect(arena.bytes(firstAllocation, 64 * 1024).every((byte) => byte === 1)).toBe(true);
    expect(() => arena.bytes(0, length + 1)).toThrow(RangeError);
    expect(() => arena.bytes(length, 1)).toThrow(/which this read-only arena cannot extend/);
  });

  // Windows keeps one mapping per file length for both (read-only.ts handoutMapping).
  test.skipIf(process.platform === "win32")(
    "separateBuffer is over a second mapping: a write through it leaves bytes() following the file; freshSeparateBuffer starts afresh",
    () => {
      const path = freshPath(directory);
      makeArena(path, 1);
      const before = readFileSync(path);
      using arena = MappedFileRegionArena.openReadOnly(path, { headerOffset });
      const separate = new Uint8Array(arena.separateBuffer(0, arena.readableBytes));
      separate.fill(0xee, firstAllocation, firstAllocation + 64);
      expect(arena.bytes(firstAllocation, 64).every((byte) => byte === 1)).toBe(true);
      // Later separate buffers share the second mapping (the write shows); a fresh one does not.
      expect(new Uint8Array(arena.separateBuffer(0, arena.readableBytes))[firstAllocation]).toBe(0xee);
      const fresh = new Uint8Array(arena.freshSeparateBuffer(0, arena.readableBytes));
      expect(fresh.subarray(firstAllocation, firstAllocation + 64).every((byte) => byte === 1)).toBe(true);
      expect(separate[firstAllocation]).toBe(0xee);
      arena.close();
      expect(separate.length).toBe(0); // detached at close, as every view
      expect(readFileSync(path).equals(before)).toBe(true);
    },
  );

  test("close is idempotent; a closed reader reports ERR_ARENA_CLOSED", () => {
    const path = freshPath(directory);
    makeArena(path, 1);
    const arena = MappedFileRegionArena.openReadOnly(path, { headerOffset });
    const size = arena.size;
    arena.close();
    arena.close();
    expect(arena.closed).toBe(true);
    expect(arena.size).toBe(size);
    expectArenaError(() => arena.allocateOffset(8), "ERR_ARENA_CLOSED");
    expectArenaError(() => arena.bytes(0, 8), "ERR_ARENA_CLOSED");
    expectArenaError(() => arena.sync(), "ERR_ARENA_CLOSED");
  });
});

describe("openReadOnly refuses what it cannot read, and creates nothing", () => {
  test("a missing file: ENOENT saying a writer creates it (with syscall and path), and no file or .shared appears", () => {
    const path = freshPath(directory);
    const error = expectArenaError(() => MappedFileRegionArena.openReadOnly(path), "ENOENT");
    expect(error.message).toBe(
      `${path} does not exist: no arena has been created there yet; a writer creates it with MappedFileRegionArena.create(path, { capacity }) (openReadOnly never creates one)`,
    );
    expect(error).toMatchObject({ path, syscall: "open" });
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.shared`)).toBe(false);
  });

  test("an empty file (not created yet: a code of its own), a file that is not an arena, a directory", () => {
    const empty = freshPath(directory);
    writeFileSync(empty, "");
    expectArenaError(() => MappedFileRegionArena.openReadOnly(empty), "ERR_ARENA_NOT_CREATED");
    const stranger = freshPath(directory);
    writeFileSync(stranger, Buffer.alloc(4096, 0x5a));
    expectArenaError(() => MappedFileRegionArena.openReadOnly(stranger), "ERR_ARENA_CORRUPT");
    expect(readFileSync(stranger).equals(Buffer.alloc(4096, 0x5a))).toBe(true);
    const folder = join(directory, "a-folder");
    mkdirSync(folder);
    expectArenaError(() => MappedFileRegionArena.openReadOnly(folder), "ERR_ARENA_NOT_A_FILE");
    for (const path of [empty, stranger, folder]) expect(existsSync(`${path}.shared`)).toBe(false);
  });

  test("the wrong headerOffset names where the header is", () => {
    const path = freshPath(directory);
    makeArena(path, 1);
    const error = expectArenaError(() => MappedFileRegionArena.openReadOnly(path, { headerOffset: 0 }), "ERR_ARENA_HEADER_MISMATCH");
    expect(error.message).toContain(`offset ${headerOffset}`);
  });

  test("wrong arguments are TypeError or RangeError naming them", () => {
    expect(() => MappedFileRegionArena.openReadOnly(42 as unknown as string)).toThrow(TypeError);
    expect(() => MappedFileRegionArena.openReadOnly("x", null as unknown as {})).toThrow(TypeError);
    expect(() => MappedFileRegionArena.openReadOnly("x", { headerOffset: 4 })).toThrow(/options.headerOffset/);
    expect(() => MappedFileRegionArena.openReadOnly("x", { headerOffset: -8 })).toThrow(RangeError);
  });
});

describe("a writer elsewhere closes while a reader has the arena mapped", () => {
  /**
   * A writer process holds the arena open (so the file is at full capacity), a
   * reader opens it then and maps all of it, the writer closes, and the reader
   * then reads every page it mapped. The writer's close would shrink the file to
   * its bump pointer (264 KiB of 4 MiB) if it thought itself the last opener.
   */
  async function writerClosesUnderReader(readerSteps: string[]) {
    const path = freshPath(directory);
    makeArena(path);
    const usedBytes = statSync(path).size;
    const writer = spawnChild("hold-open.ts", [path, capacity, headerOffset]);
    await lineReader(writer.stdout).waitFor((line) => line === "open");
    expect(statSync(path).size).toBe(capacity);

    const reader = startReader(path, readerSteps);
    await reader.waiting();
    writer.stdin.write("close\n");
    writer.stdin.end();
    expect(await writer.exited).toBe(0);
    const sizeAfterWriterClosed = statSync(path).size;
    const result = await reader.go();
    return { path, usedBytes, sizeAfterWriterClosed, result };
  }

  test("the reader holds the in-use locks: the writer does not shrink, the reader reads on", async () => {
    const { path, usedBytes, sizeAfterWriterClosed, result } = await writerClosesUnderReader(["open", "touch", "wait", "touch", "close"]);
    expect(sizeAfterWriterClosed).toBe(capacity);
    const report = reportOf(result);
    expect(report.readableBytes).toBe(capacity);
    expect(report.sizeAfterTouch).toBe(usedBytes);
    // The reader has gone: the next writer to close is the last and shrinks.
    MappedFileRegionArena.create(path, { capacity, headerOffset }).close();
    expect(statSync(path).size).toBe(usedBytes);
  });

  test("broken variant (no in-use locks): the writer shrinks the file and the reader dies of SIGBUS", async () => {
    const { usedBytes, sizeAfterWriterClosed, result } = await writerClosesUnderReader(["broken", "open", "touch", "wait", "touch", "close"]);
    expect(sizeAfterWriterClosed).toBe(usedBytes);
    expect(result.signalCode).toBe("SIGBUS");
  });

  test("a reader opened on the shrunk file survives a writer that opens, grows, appends and closes, and sees what it added", async () => {
    const path = freshPath(directory);
    makeArena(path);
    const usedBytes = statSync(path).size;
    const reader = startReader(path, ["open", "wait", "touch", "close"]);
    await reader.waiting();
    const writer = MappedFileRegionArena.create(path, { capacity, headerOffset });
    writer.allocate(128 * 1024).fill(9);
    writer.close();
    // The reader held the locks: the file stays at full size until a writer closes last.
    expect(statSync(path).size).toBe(capacity);
    const report = reportOf(await reader.go());
    // It mapped the file as it was at open; its size then found the bump pointer
    // past that and mapped the grown file again: the writer's bytes are there.
    expect(report.readableBytes).toBe(usedBytes);
    expect(report.sizeAfterTouch).toBe(usedBytes + 128 * 1024);
    expect(report.readableBytesAfterTouch).toBe(capacity);
    expect(report.tailIsNine).toBe(true);
  });
});

describe("where the file cannot be opened for writing", () => {
  test("a read-only mount (EROFS): create() fails, openReadOnly reads, with and without PATH.shared", async () => {
    const root = join(directory, "ro-mount");
    const withShared = join(root, "with-shared.arena");
    const withoutShared = join(root, "without-shared.arena");
    const fill = () => {
      makeArena(withShared);
      makeArena(withoutShared);
      rmSync(`${withoutShared}.shared`);
    };
    await withReadOnlyMount(root, fill, async () => {
      for (const path of [withShared, withoutShared]) {
        const before = readFileSync(path);
        const report = reportOf(await runReader(path, ["create", "open", "refuse", "scribble", "touch", "close"]));
        expect(report.create).toBe("EROFS");
        expect(report.refused).toEqual(allRefused);
        expect(report.scribbledReadsBack).toBe(true);
        expect(report.readableBytes).toBe(before.length);
        expect(readFileSync(path).equals(before)).toBe(true);
      }
      expect(existsSync(`${withoutShared}.shared`)).toBe(false);
    });
  });

  test("a file the user may only read (EACCES): create() fails, openReadOnly reads, whatever PATH.shared allows", async () => {
    // A folder others may enter but not write, arenas others may only read. Root
    // may write anything: then the reader runs as nobody (setpriv, util-linux).
    const folder = join(directory, "others-may-read");
    mkdirSync(folder);
    const readableShared = join(folder, "readable-shared.arena");
    const unreadableShared = join(folder, "unreadable-shared.arena");
    makeArena(readableShared);
    makeArena(unreadableShared);
    chmodSync(directory, 0o755);
    chmodSync(folder, 0o555);
    for (const path of [readableShared, unreadableShared]) chmodSync(path, 0o444);
    chmodSync(`${readableShared}.shared`, 0o444);
    chmodSync(`${unreadableShared}.shared`, 0o000);
    const asUser = asOtherUserPrefix();
    try {
      for (const path of [readableShared, unreadableShared]) {
        const before = readFileSync(path);
        const report = reportOf(await runReader(path, ["create", "open", "refuse", "scribble", "touch", "close"], { asUser }));
        expect(report.create).toBe("EACCES");
        expect(report.refused).toEqual(allRefused);
        expect(report.scribbledReadsBack).toBe(true);
        expect(report.readableBytes).toBe(before.length);
        expect(readFileSync(path).equals(before)).toBe(true);
      }
    } finally {
      chmodSync(folder, 0o755); // so the temp folder can be removed
    }
  });
});
