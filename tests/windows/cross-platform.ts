/**
 * One arena file, written by Linux and by Windows in turn: the proof that the file
 * format is the same on both. scripts/test-windows.ts makes a file with the Linux
 * build of Bun (makeArena), the Windows build under Wine checks it and appends to it
 * and makes one of its own (cross-platform.windows.ts), and the Linux build then
 * checks both (checkArena). Records are 32 bytes at known offsets, so a reader knows
 * where each one must be without any index.
 */
import { MappedFileRegionArena } from "../../lib/index.ts";

export const crossPlatformDirectoryVariable = "MFA_CROSS_PLATFORM_DIR";
export const recordsPerSide = 100;
const recordBytes = 32;
const headerOffset = 8;
const formatTag = "XPLATFM1";
const capacity = 4 * 1024 * 1024;
const firstRecord = headerOffset + 32;

function record(side: string, index: number): Uint8Array {
  const bytes = new Uint8Array(recordBytes);
  bytes.set(new TextEncoder().encode(`${side} record ${String(index).padStart(4, "0")}`));
  return bytes;
}

export function openArena(path: string): MappedFileRegionArena {
  return MappedFileRegionArena.create(path, {
    capacity,
    headerOffset,
    onCreate: (fresh) => fresh.bytes(0, 8).set(new TextEncoder().encode(formatTag)),
  });
}

/** Appends recordsPerSide records of `side`; they must land right after those already there. */
export function appendRecords(arena: MappedFileRegionArena, side: string): void {
  const expectedStart = arena.size;
  for (let index = 0; index < recordsPerSide; index++) {
    const offset = arena.append(record(side, index));
    if (offset !== expectedStart + index * recordBytes) throw new Error(`record ${index} of ${side} at ${offset}`);
  }
}

/**
 * The problems found (none when all hold) in an arena that should hold, in order,
 * recordsPerSide records of each of `sides` and nothing else.
 */
export function problemsIn(arena: MappedFileRegionArena, sides: string[]): string[] {
  const problems: string[] = [];
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  if (decode(arena.bytes(0, 8)) !== formatTag) problems.push(`format tag is ${JSON.stringify(decode(arena.bytes(0, 8)))}`);
  const expectedSize = firstRecord + sides.length * recordsPerSide * recordBytes;
  if (arena.size !== expectedSize) problems.push(`size ${arena.size}, expected ${expectedSize}`);
  if (arena.capacity !== capacity) problems.push(`capacity ${arena.capacity}, expected ${capacity}`);
  sides.forEach((side, sideIndex) => {
    for (let index = 0; index < recordsPerSide; index++) {
      const offset = firstRecord + (sideIndex * recordsPerSide + index) * recordBytes;
      const found = arena.bytes(offset, recordBytes);
      if (!found.every((byte, i) => byte === record(side, index)[i])) {
        problems.push(`at ${offset}: ${JSON.stringify(decode(found))}, expected ${side} record ${index}`);
        if (problems.length > 5) return;
      }
    }
  });
  return problems;
}
