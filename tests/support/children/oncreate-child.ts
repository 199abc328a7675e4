/**
 * argv: arena path, headerOffset. Creates the arena with an onCreate that writes
 * the user region and allocates, prints "in onCreate", and then never returns:
 * the parent SIGKILLs it there, mid-creation.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";

const [path, headerOffsetText] = process.argv.slice(2) as [string, string];
MappedFileRegionArena.create(path, {
  capacity: 1024 * 1024,
  headerOffset: Number(headerOffsetText),
  onCreate: (arena) => {
    arena.bytes(0, Number(headerOffsetText)).fill(0x11);
    arena.append(new Uint8Array(100).fill(0x22));
    process.stdout.write("in onCreate\n");
    for (;;) Bun.sleepSync(1000);
  },
});
