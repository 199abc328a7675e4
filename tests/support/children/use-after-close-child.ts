/**
 * argv: mode, arena path. The use-after-close checks of
 * tests/arena/safety/use-after-close.test.ts, run in a child process: a close
 * that failed to detach its views would make these reads touch unmapped memory,
 * and the SIGSEGV must end this child, not the test runner (issue 8 item 9c).
 * Throws (exit 1, the reason on stderr) at the first check that fails; prints
 * "ok" when all hold.
 *  views           views of every kind read as empty after close; every method
 *                  throws ERR_ARENA_CLOSED, closed checks before argument checks.
 *  failed-oncreate views made in an onCreate that throws are detached too.
 */
import { deepStrictEqual as same, strictEqual as equal, throws } from "node:assert";
import { ArenaError, MappedFileRegionArena } from "../../../lib/index.ts";

const [mode, path] = process.argv.slice(2) as [string, string];

function closedError(error: unknown): boolean {
  return error instanceof ArenaError && error.code === "ERR_ARENA_CLOSED";
}

function expectEmpty(view: Uint8Array | BigUint64Array, name: string): void {
  equal(view.length, 0, `${name}.length`);
  equal(view.byteLength, 0, `${name}.byteLength`);
  equal(view[0], undefined, `${name}[0]`);
  equal(view.buffer.byteLength, 0, `${name}.buffer.byteLength`);
}

if (mode === "views") {
  let createView: Uint8Array | undefined;
  const arena = MappedFileRegionArena.create(path, { capacity: 1 << 20, onCreate: (a) => void (createView = a.bytes(0, 16)) });
  const allocated = arena.allocate(64);
  allocated.fill(7);
  const offset = arena.append(new Uint8Array([1, 2, 3]));
  const looked = arena.bytes(offset, 3);
  const wide = arena.bytes(0, arena.capacity);
  const words = new BigUint64Array(allocated.buffer, allocated.byteOffset, 8);
  equal(looked[2], 3);
  equal(words[0], 0x0707070707070707n);
  const size = arena.size;

  arena.close();
  for (const [name, view] of Object.entries({ createView: createView!, allocated, looked, wide, words })) expectEmpty(view, name);
  // Writing to a detached view is a silent no-op, not a crash.
  allocated[0] = 1;
  equal(allocated[0], undefined);

  equal(arena.closed, true);
  equal(arena.size, size); // the size at close, not a read of unmapped memory
  throws(() => arena.allocate(8), closedError);
  throws(() => arena.allocateOffset(8), closedError);
  throws(() => arena.append(new Uint8Array(8)), closedError);
  throws(() => arena.bytes(0, 8), closedError);
  throws(() => arena.sync(), closedError);
  // Closed checks come first, even before argument checks.
  throws(() => arena.allocate(-1), closedError);
  throws(() => arena.bytes(-1, 0), closedError);
  arena.close(); // again: nothing
  arena[Symbol.dispose]();
} else if (mode === "failed-oncreate") {
  let leaked: Uint8Array | undefined;
  let leakedArena: MappedFileRegionArena | undefined;
  throws(
    () =>
      MappedFileRegionArena.create(path, {
        capacity: 1 << 20,
        onCreate: (a) => {
          leakedArena = a;
          leaked = a.allocate(32);
          leaked.fill(9);
          throw new Error("no");
        },
      }),
    /no/,
  );
  same([leaked!.length, leaked![0]], [0, undefined]);
  throws(() => leakedArena!.allocate(8), closedError);
  throws(() => leakedArena!.bytes(0, 8), closedError);
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write("ok\n");
