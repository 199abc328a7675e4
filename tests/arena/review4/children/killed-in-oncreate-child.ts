/**
 * Child for tests/arena/review4/interrupted-creation.test.ts.
 *
 *   bun killed-in-oncreate-child.ts kill PATH TAG   create (headerOffset 8) whose onCreate writes
 *                                                   the 8-byte TAG before the header, then SIGKILLs itself
 *   bun killed-in-oncreate-child.ts open PATH TAG   create again (onCreate writes TAG); prints
 *                                                   {opened, tag, size} or {code, message}
 */
import { MappedFileRegionArena } from "../../../../lib/index.ts";

const [mode, path, tag] = process.argv.slice(2) as [string, string, string];
const writeTag = (arena: MappedFileRegionArena) => void arena.bytes(0, 8).set(new TextEncoder().encode(tag));
if (mode === "kill") {
  MappedFileRegionArena.create(path, {
    capacity: 1 << 20,
    headerOffset: 8,
    onCreate: (arena) => {
      writeTag(arena);
      process.kill(process.pid, "SIGKILL");
    },
  });
} else {
  try {
    using arena = MappedFileRegionArena.create(path, { capacity: 1 << 20, headerOffset: 8, onCreate: writeTag });
    console.log(JSON.stringify({ opened: true, tag: new TextDecoder().decode(arena.bytes(0, 8)), size: arena.size }));
  } catch (error) {
    console.log(JSON.stringify({ code: (error as { code?: string }).code, message: (error as Error).message }));
  }
}
