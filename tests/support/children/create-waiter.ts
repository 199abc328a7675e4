/**
 * argv: arena path, mode. Says "waiting", then opens the arena (capacity 1 MiB,
 * as oncreate-child.ts creates it), which blocks while a creator holds it; prints
 * one JSON line: {ok, ranOnCreate} or {ok: false, code, message}.
 *  plain              an ordinary opener.
 *  hold-shared-first  the broken variant: holds PATH.shared shared while it waits,
 *                     as every opener did before issue 8 item 5 was fixed.
 */
import { ArenaError, MappedFileRegionArena } from "../../../lib/index.ts";
import { lockFile, openFile } from "../../../lib/native/native.ts";

const [path, mode] = process.argv.slice(2) as [string, string];
if (mode === "hold-shared-first") lockFile(openFile(`${path}.shared`, { create: true }), "shared", `${path}.shared`);
let ranOnCreate = false;
process.stdout.write("waiting\n");
try {
  const arena = MappedFileRegionArena.create(path, { capacity: 1024 * 1024, onCreate: () => void (ranOnCreate = true) });
  arena.append(new Uint8Array(8).fill(1));
  arena.close();
  process.stdout.write(`${JSON.stringify({ ok: true, ranOnCreate })}\n`);
} catch (error) {
  const { code, message } = error as ArenaError;
  process.stdout.write(`${JSON.stringify({ ok: false, code, message })}\n`);
}
