/**
 * argv: arena path, header offset, then steps run in order:
 *   broken     use the broken read-only open (no in-use locks; read-only-testing.ts)
 *   open       MappedFileRegionArena.openReadOnly(path, { headerOffset })
 *   wait       print "waiting" and wait for any line on stdin
 *   touch      read every byte the arena can view (every page: SIGBUS here if a
 *              writer shrank the file under the mapping) and sum them; then read
 *              `size` (which maps the file again if a writer grew it) and check
 *              that the last 128 KiB below it hold 9 (what a writer's test adds)
 *   scribble   write 0xEE over 64 bytes at the first allocation through a view
 *              and read them back (a private page: the file must not change)
 *   refuse     call every allocation method and record what each throws
 *   create     try create() on the path (read-write) and record what it throws
 *   close      close the arena
 * Prints one JSON object last: what it saw. Anything that could crash (a
 * shrunk file, a write through a view) happens here, not in the test runner.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { useBrokenReadOnlyOpenForTests } from "../../../lib/arena/read-only-testing.ts";
import { errorCodeOf } from "../error-code.ts";

const [path, headerOffsetText, ...steps] = process.argv.slice(2) as [string, string, ...string[]];
const headerOffset = Number(headerOffsetText);
const report: Record<string, unknown> = {};
let arena: MappedFileRegionArena | undefined;

for (const step of steps) {
  if (step === "broken") useBrokenReadOnlyOpenForTests("no-in-use-locks");
  else if (step === "open") {
    arena = MappedFileRegionArena.openReadOnly(path, { headerOffset });
    Object.assign(report, { readOnly: arena.readOnly, size: arena.size, readableBytes: arena.readableBytes, capacity: arena.capacity });
  } else if (step === "wait") {
    process.stdout.write("waiting\n");
    for await (const _line of console) break;
  } else if (step === "touch") {
    const all = arena!.bytes(0, arena!.readableBytes);
    let sum = 0;
    for (let i = 0; i < all.length; i++) sum = (sum + all[i]!) % 0x7fffffff;
    report.sum = sum;
    report.sizeAfterTouch = arena!.size;
    report.readableBytesAfterTouch = arena!.readableBytes;
    report.tailIsNine = arena!.bytes(arena!.size - 128 * 1024, 128 * 1024).every((byte) => byte === 9);
  } else if (step === "scribble") {
    const start = headerOffset + 32;
    arena!.bytes(start, 64).fill(0xee);
    report.scribbledReadsBack = arena!.bytes(start, 64).every((byte) => byte === 0xee);
  } else if (step === "refuse") {
    report.refused = {
      allocateOffset: errorCodeOf(() => arena!.allocateOffset(8)),
      allocate: errorCodeOf(() => arena!.allocate(8)),
      append: errorCodeOf(() => arena!.append(new Uint8Array(8))),
      blockAllocator: errorCodeOf(() => arena!.blockAllocator(4096)),
      sync: errorCodeOf(() => arena!.sync()),
    };
  } else if (step === "create") {
    report.create = errorCodeOf(() => MappedFileRegionArena.create(path, { capacity: 1 << 20, headerOffset }).close());
  } else if (step === "close") arena!.close();
  else throw new Error(`unknown step ${step}`);
}
process.stdout.write(`${JSON.stringify(report)}\n`);
