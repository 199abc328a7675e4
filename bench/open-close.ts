/**
 * Issue 4, item 5: create + close of an existing 64 MiB arena, against the floor:
 * bench/llvm-open-close.c, the system calls LLVM's MappedFileRegionArena makes to
 * open and close, in C (compiled here with the system's C compiler). Two cases:
 * another instance holds the arena open (in this process: flock locks belong to
 * the open file description, so it counts as another opener, for C too), and the
 * arena's only user, where every close is the last (msync, unmap, shrink) and
 * every create grows the file again. Both sides open the same files.
 *
 * A third row makes the same system calls as the C floor from Bun, through the
 * shim (lib/native), with nothing else: what crossing into the kernel from Bun
 * costs by itself, and LLVM's write to the header through the mapping (its
 * compare-and-swap on bumpPtr), a page fault. The arena makes no such write.
 * With the holder in this thread it makes the same 13 calls as LLVM (it reuses
 * what the holder proved and holds: lib/arena/live-files.ts); with a holder in
 * another process, 7 more (docs/DESIGN.md, "What an open and a close cost").
 */
import { join } from "node:path";
import { MappedFileRegionArena } from "../lib/index.ts";
import {
  bufferOverMemory,
  closeFile,
  lockFile,
  mapFile,
  openFile,
  readAt,
  statFile,
  syncMapping,
  truncateFile,
  tryLockFile,
  unlockFile,
  unmap,
} from "../lib/native/native.ts";
import { compare, type Candidate, type Clock, type Row } from "./harness.ts";
import { MiB, removeArenaFiles, scratchDirectory, scratchPath } from "./scratch.ts";

const capacity = 64 * MiB;
/** CPU time, not wall time: see Clock in harness.ts. */
const clock: "cpu" & Clock = "cpu";

function compileFloor(): string {
  const binary = join(scratchDirectory, "llvm-open-close");
  const source = join(import.meta.dir, "llvm-open-close.c");
  const compile = Bun.spawnSync(["cc", "-O2", "-Wall", "-o", binary, source], { stderr: "pipe" });
  if (!compile.success) throw new Error(`cannot compile ${source} (is a C compiler installed as cc?): ${compile.stderr}`);
  return binary;
}

function floor(binary: string, path: string): Candidate["run"] {
  return (ops) => {
    const run = Bun.spawnSync([binary, path, String(capacity), String(ops), clock], { stderr: "pipe" });
    if (!run.success) throw new Error(`${binary} failed: ${run.stderr}`);
    return Number(run.stdout.toString().trim());
  };
}

function bun(path: string): Candidate["run"] {
  return (ops) => {
    for (let i = 0; i < ops; i++) MappedFileRegionArena.create(path, { capacity }).close();
  };
}

/**
 * bench/llvm-open-close.c's open and close, call for call, through the shim; the
 * header is read as a BigInt64Array over the mapping, as the arena reads it.
 */
function systemCallsFromBun(path: string): Candidate["run"] {
  const sharedPath = `${path}.shared`;
  const headerBytes = new Uint8Array(32);
  return (ops) => {
    for (let i = 0; i < ops; i++) {
      const sharedFd = openFile(sharedPath, { create: true });
      lockFile(sharedFd, "shared", sharedPath);
      const fd = openFile(path, { create: true });
      lockFile(fd, "shared", path);
      let exclusive = false;
      let status = statFile(fd, path);
      if (status.sizeBytes < capacity) {
        unlockFile(fd, path);
        lockFile(fd, "exclusive", path);
        exclusive = true;
        status = statFile(fd, path);
      }
      readAt(fd, headerBytes, 0, path);
      if (status.sizeBytes < capacity) truncateFile(fd, capacity, path);
      const address = mapFile(fd, capacity, path);
      const headerBuffer = bufferOverMemory(address, 0, 32);
      const header = new BigInt64Array(headerBuffer);
      Atomics.compareExchange(header, 0, 0n, 32n);
      if (exclusive) Atomics.store(header, 1, BigInt(statFile(fd, path).allocatedBytes));
      unlockFile(fd, path);

      unlockFile(sharedFd, sharedPath);
      const last = tryLockFile(sharedFd, "exclusive", sharedPath);
      const used = Number(Atomics.load(header, 0));
      headerBuffer.transfer(0);
      if (last) syncMapping(address, capacity, path);
      unmap(address, capacity, path);
      if (last) {
        truncateFile(fd, used, path);
        unlockFile(sharedFd, sharedPath);
      }
      closeFile(fd, path);
      closeFile(sharedFd, sharedPath);
    }
  };
}

export const openCloseFloorName = "floor: LLVM's system calls, in C";
export const openCloseGroups = {
  held: "create+close 64 MiB arena, another instance holds it",
  alone: "create+close 64 MiB arena, only user (every close is the last)",
};

export function benchOpenClose(): Row[] {
  const binary = compileFloor();
  const heldPath = scratchPath("held");
  const holder = MappedFileRegionArena.create(heldPath, { capacity });
  holder.append(new Uint8Array(MiB));
  const alonePath = scratchPath("alone");
  const seed = MappedFileRegionArena.create(alonePath, { capacity });
  seed.append(new Uint8Array(MiB));
  seed.close();
  // Rounds of 200 ms (~8000 opens held, ~2000 alone): with rounds of 40 ms the held
  // group's median moved between 1.11x and 1.32x of the floor from one run to the
  // next on this machine; at 200 ms, 0.96-1.02x (2026-11-27).
  const options = { baseline: openCloseFloorName, rounds: 15, roundMs: 200, clock };
  const rows = [
    ...compare(
      openCloseGroups.held,
      [
        { name: openCloseFloorName, run: floor(binary, heldPath) },
        { name: "the same system calls from Bun, through the shim", run: systemCallsFromBun(heldPath) },
        { name: "MappedFileRegionArena.create + close", run: bun(heldPath) },
      ],
      options,
    ),
    ...compare(
      openCloseGroups.alone,
      [
        { name: openCloseFloorName, run: floor(binary, alonePath) },
        { name: "the same system calls from Bun, through the shim", run: systemCallsFromBun(alonePath) },
        { name: "MappedFileRegionArena.create + close", run: bun(alonePath) },
      ],
      options,
    ),
  ];
  holder.close();
  removeArenaFiles(heldPath);
  removeArenaFiles(alonePath);
  return rows;
}

if (import.meta.main) {
  for (const row of benchOpenClose()) console.log(`${row.group.padEnd(24)} ${row.name.padEnd(56)} ${row.nsPerOp.toFixed(1).padStart(9)} ns  ${row.ratio.toFixed(3)}x`);
}
