/**
 * Child for tests/arena/safety/lock-file-is-not-a-lock-file.test.ts: opens an arena whose PATH.shared is not a lock file
 * of its own. "symlink": PATH.shared is a symlink to PATH (an existing, closed
 * arena, which the open must grow under the exclusive lock). "fifo": PATH.shared
 * is a FIFO, whose blocking open would wait for a writer forever. "nested": the
 * process has PATH open, then creates an arena at PATH.shared (its lock file).
 *
 *   bun shared-is-the-arena.ts MODE PATH
 */
import { rmSync, symlinkSync } from "node:fs";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { printWhetherItOpened } from "../isolated-runs.ts";

const [mode, path] = process.argv.slice(2) as [string, string];
const capacity = 1 << 20;
printWhetherItOpened(() => {
  if (mode === "symlink") {
    MappedFileRegionArena.create(path, { capacity }).close();
    rmSync(`${path}.shared`);
    symlinkSync(path, `${path}.shared`);
    console.log(JSON.stringify({ step: "reopening" }));
    MappedFileRegionArena.create(path, { capacity }).close();
  } else if (mode === "fifo") {
    MappedFileRegionArena.create(path, { capacity }).close();
    rmSync(`${path}.shared`);
    if (Bun.spawnSync(["mkfifo", `${path}.shared`]).exitCode !== 0) throw new Error("mkfifo failed");
    console.log(JSON.stringify({ step: "reopening" }));
    MappedFileRegionArena.create(path, { capacity }).close();
  } else {
    const outer = MappedFileRegionArena.create(path, { capacity });
    console.log(JSON.stringify({ step: "creating PATH.shared as an arena" }));
    MappedFileRegionArena.create(`${path}.shared`, { capacity }).close();
    outer.close();
  }
});
