/**
 * A reader's mapping costs address space, not memory (review findings 4 and 5 of
 * issue 13 item 2).
 *
 * Finding 4: the reader's MAP_PRIVATE, PROT_WRITE mapping was charged as
 * committed memory for its whole length (the "ac" flag in /proc/self/smaps),
 * which the default overcommit heuristic refuses past RAM + swap: a reader of an
 * arena a writer maps fine got ENOMEM from openReadOnly, from `size` and bytes()
 * once a writer grew the file, and from close(), which then left it open with its
 * locks held. Now the mapping is MAP_NORESERVE and close() never maps. Nothing
 * here is touched (sparse files; an ENOMEM is an exception), so it runs
 * in-process. Under vm.overcommit_memory=2 a reader is charged its capacity
 * (docs/read-only.md), so the test is skipped there; under 1 it cannot fail.
 *
 * Finding 5: close() keeps a viewed mapping's addresses (zero pages, for a
 * pointer close could not detach) and reuses them only for a mapping of the same
 * length; a reader's length was the file's, which changes whenever a writer
 * appends and closes, so every reopen leaked it (6.5 GB to 33.7 GB of VmSize over
 * 2,000 reopens). Now a reader maps the capacity, and its ranges are pooled with
 * the writers'. Run in a child: a leak stays there.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { finished, spawnChild } from "../support/processes.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("arena-ro-memory-");
const strictOvercommit = existsSync("/proc/sys/vm/overcommit_memory") && readFileSync("/proc/sys/vm/overcommit_memory", "utf8").trim() === "2";

/** Twice RAM + swap, at least 64 GiB, in whole GiB: more than the heuristic lets one charged mapping have. */
function moreThanMemory(): number {
  const meminfo = readFileSync("/proc/meminfo", "utf8");
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(meminfo)?.[1] ?? 0);
  const bytes = 2 * (kib("MemTotal") + kib("SwapTotal")) * 1024;
  return Math.max(64, Math.ceil(bytes / 2 ** 30)) * 2 ** 30;
}

/**
 * Whether a writer can map an arena larger than memory here: the premise of
 * finding 4. Not under qemu-user (test:arm64), whose guest address space is
 * smaller than the host's, nor under strict overcommit (see the top).
 */
function writersMapMoreThanMemory(): boolean {
  if (process.platform !== "linux" || strictOvercommit) return false;
  try {
    MappedFileRegionArena.create(freshPath(directory), { capacity: moreThanMemory() }).close();
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!writersMapMoreThanMemory())("a reader of an arena larger than memory (review finding 4)", () => {
  test("opens while a writer has it open, as the writer did", () => {
    const path = freshPath(directory);
    using writer = MappedFileRegionArena.create(path, { capacity: moreThanMemory() });
    const offset = writer.append(new TextEncoder().encode("hello"));
    using reader = MappedFileRegionArena.openReadOnly(path);
    expect(new TextDecoder().decode(reader.bytes(offset, 5))).toBe("hello");
  });

  test("opened on the closed file, follows a writer that grows it (size and bytes() do not throw ENOMEM)", () => {
    const path = freshPath(directory);
    const capacity = moreThanMemory();
    MappedFileRegionArena.create(path, { capacity }).close();
    using reader = MappedFileRegionArena.openReadOnly(path);
    using writer = MappedFileRegionArena.create(path, { capacity });
    const offset = writer.append(new TextEncoder().encode("grown"));
    expect(reader.size).toBe(writer.size);
    expect(new TextDecoder().decode(reader.bytes(offset, 5))).toBe("grown");
  });

  test("close() of a reader whose file grew does not map it again: it closes, and the writer's last close shrinks the file", () => {
    const path = freshPath(directory);
    const capacity = moreThanMemory();
    MappedFileRegionArena.create(path, { capacity }).close();
    const reader = MappedFileRegionArena.openReadOnly(path);
    const sizeAtOpen = reader.size; // touches the header, as any reader does
    const writer = MappedFileRegionArena.create(path, { capacity });
    writer.append(new Uint8Array(64));
    let closeError: unknown;
    try {
      reader.close();
    } catch (error) {
      closeError = error;
    }
    writer.close();
    expect({ closeError: String(closeError ?? "none"), closed: reader.closed }).toEqual({ closeError: "none", closed: true });
    expect(statSync(path).size).toBeLessThan(capacity);
    expect(sizeAtOpen).toBeGreaterThan(0);
  });
});

describe.skipIf(process.platform !== "linux")("a reader reopened on a file that writers keep growing (review finding 5)", () => {
  test("does not keep each closed mapping's addresses (VmSize stays bounded)", async () => {
    const path = freshPath(directory);
    const child = spawnChild("reopen-growing.ts", [path, 150, 256 * 1024]);
    const result = await finished(child);
    expect(result.exitCode).toBe(0);
    const { vmSizeGrowthBytes, lastFileBytes } = JSON.parse(result.stdout.trim().split("\n").pop()!);
    // 150 reopens of a file of up to ~38 MiB: without the leak, growth is a few
    // mappings at most; with it, the sum of every length (~2.8 GiB).
    expect(vmSizeGrowthBytes).toBeLessThan(16 * lastFileBytes);
  }, 120_000);
});
