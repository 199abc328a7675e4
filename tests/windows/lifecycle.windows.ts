/**
 * The arena's life on Windows, file by file as a Windows user sees it: create,
 * reopen, the stored capacity winning, a header at another offset refused, the
 * last close shrinking the file (and a close that is not the last one leaving it),
 * and a writer killed without close or sync losing nothing. Runs under the Windows
 * build of Bun (scripts/test-windows.ts runs it under Wine); the tests in
 * tests/arena that hold on Windows run there too.
 *
 * Broken variants these catch: a shrink by a closer that is not the last (the
 * held-open case would see the file cut to `size` under the holder); a shrink
 * skipped on Windows because a view is still mapped (ERROR_USER_MAPPED_FILE: the
 * last-close case would see the capacity); a mapping that is not shared between
 * processes (the killed writer's bytes would not be in the file); a last close
 * that throws because another closer, past its unlock, has not unmapped yet (the
 * raw shrink below is refused with ERROR_USER_MAPPED_FILE, as protocol.ts's plain
 * truncate was, and close() threw EBUSY).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { closeFile, mapFile, openFile, truncateFile, unmap } from "../../lib/native/native.ts";
import { expectArenaError } from "../support/expect.ts";
import { join } from "node:path";
import { finished, lineReader, runChild, spawnChild } from "../support/processes.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("mfa-windows-");
const MiB = 1024 * 1024;
const encoder = new TextEncoder();

function headerWords(path: string, headerOffset: number): bigint[] {
  const view = new DataView(readFileSync(path).buffer);
  return [0, 1, 2, 3].map((word) => view.getBigUint64(headerOffset + word * 8, true));
}

test("this is the Windows build of Bun", () => {
  expect(process.platform).toBe("win32");
});

describe("create, reopen", () => {
  test("the bytes and LLVM's header survive a reopen, at the same offsets", () => {
    const path = freshPath(directory);
    const arena = MappedFileRegionArena.create(path, {
      capacity: 4 * MiB,
      headerOffset: 8,
      onCreate: (fresh) => fresh.bytes(0, 8).set(encoder.encode("MYFMT001")),
    });
    expect(arena.size).toBe(40);
    const offset = arena.append(encoder.encode("hello, windows"));
    expect(offset).toBe(40);
    arena.close();

    // On disk: the user's 8 bytes, then bumpPtr, allocatedSize, capacity, headerOffset.
    const file = readFileSync(path);
    expect(file.subarray(0, 8).toString()).toBe("MYFMT001");
    const [bumpPtr, , capacity, headerOffset] = headerWords(path, 8);
    expect([bumpPtr, capacity, headerOffset]).toEqual([56n, BigInt(4 * MiB), 8n]);
    expect(file.subarray(40, 54).toString()).toBe("hello, windows");

    using again = MappedFileRegionArena.create(path, { capacity: 4 * MiB, headerOffset: 8 });
    expect(again.size).toBe(56);
    expect(new TextDecoder().decode(again.bytes(40, 14))).toBe("hello, windows");
    expect(again.append(encoder.encode("more"))).toBe(56);
  });

  test("the stored capacity wins over a requested one", () => {
    const path = freshPath(directory);
    MappedFileRegionArena.create(path, { capacity: 2 * MiB }).close();
    using reopened = MappedFileRegionArena.create(path, { capacity: 8 * MiB });
    expect(reopened.capacity).toBe(2 * MiB);
  });

  test("a header at another offset is ERR_ARENA_HEADER_MISMATCH, and the file is left as it was", () => {
    const path = freshPath(directory);
    MappedFileRegionArena.create(path, { capacity: MiB, headerOffset: 16 }).close();
    const before = readFileSync(path);
    const error = expectArenaError(() => MappedFileRegionArena.create(path, { capacity: MiB, headerOffset: 0 }), "ERR_ARENA_HEADER_MISMATCH");
    expect(error.message).toContain("offset 16");
    expect(readFileSync(path).equals(before)).toBe(true);
  });
});

describe("close", () => {
  test("the last close unmaps, then shrinks the file to size", () => {
    const path = freshPath(directory);
    const arena = MappedFileRegionArena.create(path, { capacity: 16 * MiB });
    arena.allocate(1000);
    expect(statSync(path).size).toBe(16 * MiB);
    const size = arena.size;
    arena.close();
    expect(statSync(path).size).toBe(size);
  });

  test("a close while another process holds the arena leaves the file at its capacity", async () => {
    const path = freshPath(directory);
    const holder = spawnChild("hold-open.ts", [path, 16 * MiB]);
    await lineReader(holder.stdout).waitFor((line) => line === "open");
    const arena = MappedFileRegionArena.create(path, { capacity: 16 * MiB });
    arena.allocate(100);
    arena.close();
    expect(statSync(path).size).toBe(16 * MiB); // the holder still has it mapped

    holder.stdin.write("close\n");
    holder.stdin.end();
    expect(await holder.exited).toBe(0);
    expect(statSync(path).size).toBe(32 + 104); // the holder's close was the last
  });
});

test("a last close that finds another closer's view still mapped succeeds, and the next last close shrinks", () => {
  const path = freshPath(directory);
  const arena = MappedFileRegionArena.create(path, { capacity: 4 * MiB });
  arena.allocate(100);
  // Another closer caught between releasing its lock on PATH.shared and unmapping:
  // a view of the file, and no lock.
  const strayFd = openFile(path, { create: false });
  const strayView = mapFile(strayFd, 4 * MiB, path);
  // The shrink the last close makes is refused while that view exists...
  const refused = expectArenaError(() => truncateFile(strayFd, 136, path), "EBUSY");
  expect(refused.message).toContain("ERROR_USER_MAPPED_FILE");
  // ...and the close does not fail for it; the file keeps its capacity.
  arena.close();
  expect(statSync(path).size).toBe(4 * MiB);
  unmap(strayView, 4 * MiB, path);
  closeFile(strayFd, path);
  MappedFileRegionArena.create(path, { capacity: 4 * MiB }).close();
  expect(statSync(path).size).toBe(32 + 104);
});

test("a window transferred away: close works, the taken buffer stays readable, the file shrinks once its process is gone", async () => {
  const path = freshPath(directory);
  const script = join(import.meta.dir, "children", "transferred-window.ts");
  const result = await finished(Bun.spawn([process.execPath, script, path], { stdin: "pipe", stdout: "pipe", stderr: "pipe" }));
  expect(result.exitCode).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual({
    closed: true,
    keptLength: 0, // a view over the window that moved: detached with it
    escapedText: "still here", // the view stayed mapped: the file's bytes, not a crash
    sizeWhileAlive: 1024 * 1024, // and so the last close could not shrink the file
  });
  MappedFileRegionArena.create(path, { capacity: 1024 * 1024 }).close();
  expect(statSync(path).size).toBe(32 + 16 + 16);
});

test("a writer killed without close or sync loses nothing it wrote", async () => {
  const path = freshPath(directory);
  // The child appends 64 KiB and ends itself (TerminateProcess on Windows): no
  // close, no sync, no exit handlers.
  const result = await runChild("durability-child.ts", ["write-then-die", path]);
  expect(result.exitCode).not.toBe(0);
  const offset = Number(result.stdout.trim());
  using arena = MappedFileRegionArena.create(path, { capacity: 16 * MiB });
  const bytes = arena.bytes(offset, 65536);
  let wrong = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== ((i * 7 + 3) & 0xff)) wrong++;
  expect(wrong).toBe(0);
});
