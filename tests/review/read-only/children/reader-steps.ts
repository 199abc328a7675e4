/**
 * Child of llvm-writer.test.ts: a read-only arena driven by lines on stdin, so
 * that a SIGBUS kills only this process.
 *
 *   bun reader-steps.ts PATH
 *
 * stdin lines: "open", "size" (reads size: maps the grown file again), "touch"
 * (reads every byte bytes() can reach, 0..readableBytes), "close". After each it
 * prints one JSON line: {step, size?, readableBytes?, sum?}.
 */
import { MappedFileRegionArena } from "../../../../lib/index.ts";

const path = process.argv[2]!;
let arena: MappedFileRegionArena | undefined;
const say = (report: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(report)}\n`);
for await (const line of console) {
  const step = line.trim();
  if (step === "open") {
    arena = MappedFileRegionArena.openReadOnly(path);
    say({ step, readableBytes: arena.readableBytes });
  } else if (step === "size") {
    say({ step, size: arena!.size, readableBytes: arena!.readableBytes });
  } else if (step === "touch") {
    const all = arena!.bytes(0, arena!.readableBytes);
    let sum = 0;
    for (let i = 0; i < all.length; i += 512) sum = (sum + all[i]!) % 0x7fffffff;
    say({ step, sum, readableBytes: arena!.readableBytes });
  } else if (step === "close") {
    arena!.close();
    say({ step });
    break;
  }
}
