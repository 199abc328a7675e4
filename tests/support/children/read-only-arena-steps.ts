/**
 * A read-only arena driven by lines on stdin, so that a test can interleave it
 * with writers step by step and a SIGBUS kills only this process.
 *
 *   bun read-only-arena-steps.ts PATH [no-bump-bound]
 *
 * With "no-bump-bound", the broken read-only open (read-only-testing.ts). stdin
 * lines: "open", "size" (reads size: may extend what the reader views), "touch"
 * (reads every byte bytes() can reach, 0..readableBytes), "close". After each it
 * prints one JSON line: {step, size?, readableBytes?, sum?}.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { useBrokenReadOnlyOpenForTests } from "../../../lib/arena/read-only-testing.ts";

const [path, variant] = process.argv.slice(2) as [string, string | undefined];
if (variant === "no-bump-bound") useBrokenReadOnlyOpenForTests("no-bump-bound");
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
