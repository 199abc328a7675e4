// Child of tests/store/review3.test.ts. `spill-get DIR URL ID`: opens a store of DIR with the
// remote URL and downloads ID (a large object, spilled to DIR/tmp), printing "started"; the
// parent kills it (SIGKILL) while the body is held mid-way.
// `arena-lengths DIR same|distinct`: creates, views and closes 200 arenas (capacities all 64 MiB,
// or each 64 KiB larger than the last), and prints the growth of VmSize and of /proc/self/maps.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ContentStore, MappedFileRegionArena } from "../../../lib/index.ts";

const [mode, directory, url, id] = process.argv.slice(2);
if (mode === "spill-get") {
  const store = ContentStore.open(directory!, { remote: { url: url!, timeoutMs: 120_000, memoryBufferBytes: 64 * 1024 } });
  console.log("started");
  await store.remote!.get(id!);
  console.log("finished"); // never reached: the parent kills this process first
} else if (mode === "arena-lengths") {
  const distinct = url === "distinct";
  const MiB = 2 ** 20;
  const addressSpace = () => Number(/VmSize:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]) * 1024;
  const mappings = () => readFileSync("/proc/self/maps", "utf8").split("\n").length;
  const openViewClose = (name: string, capacity: number) => {
    const path = join(directory!, name);
    const arena = MappedFileRegionArena.create(path, { capacity });
    arena.allocate(64)[0] = 1; // a view was made: close leaves a placeholder, and nothing was taken
    arena.close();
    rmSync(path);
  };
  for (let i = 0; i < 10; i++) openViewClose(`warm-${i}`, 64 * MiB); // the quarantine of the common length filled
  const [space, maps] = [addressSpace(), mappings()];
  for (let i = 0; i < 200; i++) openViewClose(`arena-${i}`, 64 * MiB + (distinct ? (i + 1) * 64 * 1024 : 0));
  console.log(JSON.stringify({ growthMiB: (addressSpace() - space) / MiB, mappingsGrowth: mappings() - maps }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
