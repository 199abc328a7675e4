/**
 * Review of issue 13 item 2 (read-only opens): the reader's mapping is charged
 * as memory.
 *
 * docs/read-only.md and lib/arena/read-only.ts say a reader's mapping costs
 * address space, like a writer's. But it is MAP_PRIVATE with PROT_WRITE
 * (native/posix.zig, mfa_mmap), which Linux accounts as committed memory for its
 * whole length (the "ac" flag in /proc/self/smaps), while a writer's MAP_SHARED
 * mapping is not. Under the default overcommit heuristic a single mapping larger
 * than RAM + swap is refused: a writer maps an arena of that capacity, and a
 * reader of the same file, while the writer has it open (the file is then at
 * its capacity), gets ENOMEM. Nothing is touched: the file is sparse, and an
 * ENOMEM is an exception, so this runs in-process. (Under vm.overcommit_memory=1,
 * "always", nothing is refused and these pass on main; the default is 0.)
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { freshPath, tempDirectory } from "../../support/temp.ts";

const directory = tempDirectory("review-ro-commit-");

/** Twice RAM + swap, at least 64 GiB, in whole GiB: more than the heuristic lets one private mapping have. */
function moreThanMemory(): number {
  const meminfo = readFileSync("/proc/meminfo", "utf8");
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(meminfo)?.[1] ?? 0);
  const bytes = 2 * (kib("MemTotal") + kib("SwapTotal")) * 1024;
  return Math.max(64, Math.ceil(bytes / 2 ** 30)) * 2 ** 30;
}

describe("a reader of an arena larger than memory", () => {
  test("opens while a writer has it open, as the writer did", () => {
    const path = freshPath(directory);
    using writer = MappedFileRegionArena.create(path, { capacity: moreThanMemory() });
    const offset = writer.append(new TextEncoder().encode("hello"));
    using reader = MappedFileRegionArena.openReadOnly(path);
    expect(new TextDecoder().decode(reader.bytes(offset, 5))).toBe("hello");
  });

  test("opened on the closed file, follows a writer that grows it (size does not throw ENOMEM)", () => {
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
    // close() computes size (arena.ts close: `this.size` once the header was
    // touched), and size maps the grown file again (extendReadOnlyMapping). When
    // that mmap fails, close throws before it releases anything: the reader stays
    // open, every later close throws the same, and its in-use locks keep every
    // writer from shrinking the file until the process exits.
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
