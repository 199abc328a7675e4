/**
 * Child for tests/arena/review4/worker-address-space.test.ts.
 *
 *   bun worker-cycles-child.ts DIRECTORY COUNT
 *
 * COUNT times, one after another: a new Worker opens an arena of 4 GiB
 * capacity, takes a view ("view" round) or not ("no-view" round, the control:
 * close then simply unmaps), closes it, and is terminated. Prints how much the
 * process's address space (VmSize) grew in each round, in GiB.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [directory, countText] = process.argv.slice(2) as [string, string];
const count = Number(countText);
const library = new URL("../../../../lib/index.ts", import.meta.url).href;
const workerPath = join(directory, "cycle-worker.ts");
await Bun.write(
  workerPath,
  `import { MappedFileRegionArena } from ${JSON.stringify(library)};
self.onmessage = (event) => {
  const { path, view } = event.data;
  const arena = MappedFileRegionArena.create(path, { capacity: 4 * 2 ** 30 });
  if (view) arena.bytes(0, 8)[0];
  arena.close();
  postMessage("closed");
};`,
);

const addressSpaceBytes = () => Number(/VmSize:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]) * 1024;

async function round(view: boolean): Promise<number> {
  const before = addressSpaceBytes();
  for (let index = 0; index < count; index++) {
    const worker = new Worker(workerPath);
    await new Promise((resolve) => {
      worker.onmessage = resolve;
      worker.postMessage({ path: join(directory, `${view ? "view" : "plain"}-${index}.arena`), view });
    });
    worker.terminate();
    await new Promise<void>((resolve) => worker.addEventListener("close", () => resolve(), { once: true }));
  }
  Bun.gc(true);
  return (addressSpaceBytes() - before) / 2 ** 30;
}

const noView = await round(false);
const withView = await round(true);
console.log(JSON.stringify({ noViewGiB: noView, viewGiB: withView }));
process.exit(0);
