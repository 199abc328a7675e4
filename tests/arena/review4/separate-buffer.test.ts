/**
 * Review 4, arena.separateBuffer() called per view.
 *
 * separateBuffer is the arena's way to give a caller a buffer of its own (so a
 * transfer takes only that one); its comment says "Each call makes a new buffer
 * (~1 us): keep it". mapping.ts #bufferOver pushes every buffer it makes onto
 * #buffers (so close can detach it) and keeps it there until close:
 * #forgetStolen drops only buffers that were transferred away. So every buffer a
 * caller made and dropped stays reachable until close (a leak for a long-lived
 * arena), and since #forgetStolen walks the whole list on every call, each call
 * costs time in proportion to the calls before it (measured by hand, CPU time
 * per call: 28 us after 5,000 calls, 106 us after 15,000, 430 us after 75,000).
 *
 * Control, in the same test: plain ArrayBuffers dropped the same way are
 * collected, so the measure can see a collected buffer.
 */
import { expect, test } from "bun:test";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { freshPath, tempDirectory } from "../../support/temp.ts";

const directory = tempDirectory("mfa-review4-separate-buffer-");
const count = 2000;

function weakRefsTo(make: () => ArrayBuffer): WeakRef<ArrayBuffer>[] {
  const refs: WeakRef<ArrayBuffer>[] = [];
  for (let index = 0; index < count; index++) refs.push(new WeakRef(make()));
  return refs;
}

// Expected: the 2,000 separate buffers the caller dropped are collectable (the
// mapping could hold them weakly: a collected buffer needs no detaching).
// Observed: all 2,000 are alive until close.
test("every separateBuffer() a caller dropped stays alive until close (and each call walks them all)", async () => {
  using arena = MappedFileRegionArena.create(freshPath(directory), { capacity: 1 << 20 });
  const offset = arena.append(new Uint8Array(64));
  const separate = weakRefsTo(() => arena.separateBuffer(offset, 8));
  const plain = weakRefsTo(() => new ArrayBuffer(8));
  await Bun.sleep(0);
  Bun.gc(true);
  await Bun.sleep(10);
  Bun.gc(true);
  const alive = (refs: WeakRef<ArrayBuffer>[]) => refs.filter((ref) => ref.deref() !== undefined).length;
  expect(alive(plain)).toBeLessThan(count / 2); // the control: dropped buffers are collected
  expect(alive(separate)).toBeLessThan(count / 2);
});

// Expected: an empty ArrayBuffer, as bytes(offset, 0) gives an empty view (0 is
// a valid length: #viewableMapping accepts it). Observed: Bun's own TypeError
// ERR_INVALID_ARG_TYPE "length must be > 0. This usually means a bug in your
// code." from toArrayBuffer (native.ts bufferOverMemory), naming no argument.
test("separateBuffer(offset, 0) throws bun:ffi's TypeError instead of returning an empty buffer", () => {
  using arena = MappedFileRegionArena.create(freshPath(directory), { capacity: 1 << 20 });
  expect(arena.bytes(32, 0).length).toBe(0);
  let outcome: number | string;
  try {
    outcome = arena.separateBuffer(32, 0).byteLength;
  } catch (error) {
    outcome = `${(error as Error).name}: ${(error as Error).message}`;
  }
  expect(outcome).toBe(0);
});
