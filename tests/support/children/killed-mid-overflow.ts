/**
 * Child for overflow-state.test.ts. "kill PATH CAPACITY": creates an arena, appends
 * 1000 bytes, then leaves the state of a process killed inside an overflowing
 * allocation (bumpPtr a little past the capacity, the file at full size) and
 * SIGKILLs itself. "open PATH CAPACITY": opens it and prints {size} or {error}.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { printOpenOutcome } from "../isolated-runs.ts";

const [mode, path, capacityText] = process.argv.slice(2) as [string, string, string];
const capacity = Number(capacityText);
if (mode === "kill") {
  const arena = MappedFileRegionArena.create(path, { capacity });
  arena.append(new Uint8Array(1000).fill(3));
  // What Atomics.add leaves between the add and the put-back of an allocation of 4 KiB + the rest.
  const fd = openSync(path, "r+");
  const word = Buffer.alloc(8);
  word.writeBigUInt64LE(BigInt(capacity) + 4096n);
  writeSync(fd, word, 0, 8, arena.headerOffset);
  closeSync(fd);
  process.kill(process.pid, "SIGKILL");
} else {
  await printOpenOutcome(path, capacity);
}
