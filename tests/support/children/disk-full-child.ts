/**
 * Runs on a small tmpfs (see tests/arena/safety/disk-full.test.ts). argv: mode, arena path, capacity.
 *  append          appends 64 KiB stamped chunks until an error; checks every chunk
 *                  written before it is intact, closes, prints a JSON report.
 *  unreserved      the broken variant: writes through bytes() past the bump pointer,
 *                  into sparse holes nobody reserved, the whole capacity. On a full
 *                  disk that is SIGBUS: the parent asserts this child dies of it.
 *  big             fills the disk but 2.75 MiB, then allocates 2.5 MiB at once (more
 *                  than LLVM's 1 MiB increment covers) and writes all of it.
 *  create-on-full  creates an arena on a file system with no space left; prints a
 *                  JSON report of the error (or of success).
 *  llvm-word       an arena at full size whose allocatedSize word says 2 MiB (what LLVM
 *                  stores: st_blksize * 512) while only its header page has disk; fills
 *                  the disk, then allocates 1 MiB and writes it all.
 *  block           fills the disk but 128 KiB, then asks a block allocator of 1 MiB
 *                  blocks for 8 bytes (the arena itself still serves them).
 *  sparse-copy     an arena with a 1 MiB allocation of zeros, copied with
 *                  `cp --sparse=always` (the zeros become holes); fills the disk, opens the
 *                  copy and writes the allocation it holds.
 */
import { closeSync, openSync, rmSync, truncateSync, writeSync } from "node:fs";
import { join, dirname } from "node:path";
import { ArenaError, MappedFileRegionArena } from "../../../lib/index.ts";
import { fillStamp, stampByte } from "../allocations.ts";

const [mode, path, capacityText] = process.argv.slice(2) as [string, string, string];
const capacity = Number(capacityText);
const chunkBytes = 64 * 1024;

function report(value: object): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function errorReport(error: unknown): object {
  return error instanceof ArenaError
    ? { name: error.name, code: error.code, syscall: error.syscall, message: error.message }
    : { name: (error as Error).name, message: String(error) };
}

/** Fills the file system holding `directory` with a filler file until ENOSPC. */
function fillFileSystem(directory: string): number {
  const fd = openSync(join(directory, "filler"), "w");
  const page = new Uint8Array(4096).fill(1);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, page);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    closeSync(fd);
  }
  return written;
}

if (mode === "append") {
  const arena = MappedFileRegionArena.create(path, { capacity });
  const offsets: number[] = [];
  let failure: object | undefined;
  for (let sequence = 0; ; sequence++) {
    const chunk = new Uint8Array(chunkBytes);
    fillStamp(chunk, 1, sequence);
    try {
      offsets.push(arena.append(chunk));
    } catch (error) {
      failure = errorReport(error);
      break;
    }
  }
  let intact = true;
  for (const [sequence, offset] of offsets.entries()) {
    const view = arena.bytes(offset, chunkBytes);
    for (let i = 0; i < chunkBytes; i += 97) {
      if (view[i] !== stampByte(1, sequence, i)) intact = false;
    }
  }
  const sizeBeforeClose = arena.size;
  // After ENOSPC the arena still works for what fits in what is reserved.
  let small: object | number;
  try {
    small = arena.append(new Uint8Array(8).fill(3));
  } catch (error) {
    small = errorReport(error);
  }
  const size = arena.size;
  arena.close();
  report({ failure, offsets, intact, sizeBeforeClose, small, size });
} else if (mode === "unreserved") {
  const arena = MappedFileRegionArena.create(path, { capacity });
  report({ opened: true });
  // Past the bump pointer, nothing reserved: every page is a sparse hole.
  for (let offset = 64 * 1024; offset + chunkBytes <= capacity; offset += chunkBytes) {
    arena.bytes(offset, chunkBytes).fill(5);
  }
  arena.close();
  report({ survived: true });
} else if (mode === "big") {
  const fd = openSync(join(dirname(path), "filler"), "w");
  writeSync(fd, new Uint8Array(1280 * 1024).fill(1));
  closeSync(fd);
  const arena = MappedFileRegionArena.create(path, { capacity });
  const size = 2560 * 1024;
  const view = arena.allocate(size);
  view.fill(6); // every page of it: SIGBUS here if it was not all reserved
  let second: object | number;
  try {
    second = arena.allocateOffset(1024 * 1024);
  } catch (error) {
    second = errorReport(error);
  }
  const ok = view[size - 1] === 6;
  arena.close();
  report({ ok, second });
} else if (mode === "create-on-full") {
  const filled = fillFileSystem(dirname(path));
  try {
    const arena = MappedFileRegionArena.create(path, { capacity, headerOffset: 4096 });
    const offset = arena.append(new Uint8Array(16).fill(2));
    arena.close();
    report({ filled, created: true, offset });
  } catch (error) {
    report({ filled, created: false, error: errorReport(error) });
  }
} else if (mode === "llvm-word") {
  const fd = openSync(path, "w");
  const header = new DataView(new ArrayBuffer(32));
  [32n, 2n * 1024n * 1024n, BigInt(capacity), 0n].forEach((word, index) => header.setBigUint64(index * 8, word, true));
  writeSync(fd, new Uint8Array(header.buffer), 0, 32, 0);
  closeSync(fd);
  truncateSync(path, capacity); // full size, sparse: the word is all that says "reserved"
  const filled = fillFileSystem(dirname(path));
  writeWhatIsAllocated(path, filled);
} else if (mode === "block") {
  const filled = fillFileSystem(dirname(path));
  truncateSync(join(dirname(path), "filler"), filled - 128 * 1024); // 128 KiB free again
  const arena = MappedFileRegionArena.create(path, { capacity });
  const block = arena.blockAllocator(1024 * 1024);
  let small: object | number;
  try {
    small = block.append(new Uint8Array(8).fill(4));
  } catch (error) {
    small = errorReport(error);
  }
  block.close();
  arena.close();
  report({ filled, small });
} else if (mode === "sparse-copy") {
  const original = join(dirname(path), "original.arena");
  const source = MappedFileRegionArena.create(original, { capacity });
  source.allocateOffset(1024 * 1024); // zeros: a sparse copy makes them holes
  source.append(new Uint8Array(64).fill(9));
  source.close();
  const copy = Bun.spawnSync(["cp", "--sparse=always", original, path]);
  if (copy.exitCode !== 0) throw new Error(`cp failed: ${copy.stderr}`);
  rmSync(original);
  rmSync(`${original}.shared`);
  const filled = fillFileSystem(dirname(path));
  try {
    const arena = MappedFileRegionArena.create(path, { capacity });
    arena.bytes(32, 1024 * 1024).fill(7); // the allocation handed out before the copy: SIGBUS if a hole
    arena.close();
    report({ filled, written: true });
  } catch (error) {
    report({ filled, written: false, error: errorReport(error) });
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}

/** Opens the arena at `path`, allocates 1 MiB and writes all of it; reports how that ended. */
function writeWhatIsAllocated(path: string, filled: number): void {
  try {
    const arena = MappedFileRegionArena.create(path, { capacity });
    arena.allocate(1024 * 1024).fill(7); // SIGBUS here if the disk was not reserved
    arena.close();
    report({ filled, written: true });
  } catch (error) {
    report({ filled, written: false, error: errorReport(error) });
  }
}
