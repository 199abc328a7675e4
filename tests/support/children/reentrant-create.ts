/**
 * Child for oncreate.test.ts: inside onCreate, opens the same file again in the
 * same thread (under its own name, or a symlink to it).
 *
 *   bun reentrant-create.ts PATH NAME_FOR_INNER_OPEN
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { printWhetherItOpened } from "../isolated-runs.ts";

const [path, innerName] = process.argv.slice(2) as [string, string];
printWhetherItOpened(() => {
  const outer = MappedFileRegionArena.create(path, {
    capacity: 1 << 20,
    onCreate: () => {
      console.log(JSON.stringify({ inOnCreate: true }));
      const inner = MappedFileRegionArena.create(innerName, { capacity: 1 << 20 });
      inner.close();
    },
  });
  outer.close();
});
