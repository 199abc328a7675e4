/**
 * Child for creation-window.test.ts. "kill PATH N": creates an arena and is
 * SIGKILLed just before the Nth atomic store into its header after onCreate
 * returned (the stores that finish a creation: allocatedSize, then capacity).
 * "open PATH": opens it and prints {size} or {error}.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { printOpenOutcome } from "../isolated-runs.ts";

const [mode, path, nth] = process.argv.slice(2) as [string, string, string];
const capacity = 1 << 20;
if (mode === "kill") {
  let finishing = false;
  let stores = 0;
  const store = Atomics.store;
  // Wraps Atomics.store to die at a chosen point: the only way to stop between two statements.
  (Atomics as { store: unknown }).store = (array: BigUint64Array, index: number, value: bigint) => {
    if (finishing && array instanceof BigUint64Array && array.length === 4 && ++stores === Number(nth)) {
      process.kill(process.pid, "SIGKILL");
    }
    return store(array, index, value);
  };
  MappedFileRegionArena.create(path, {
    capacity,
    onCreate: (arena) => {
      arena.append(new Uint8Array(16).fill(1));
      finishing = true;
    },
  });
  console.log(JSON.stringify({ killed: false }));
} else {
  await printOpenOutcome(path, capacity);
}
