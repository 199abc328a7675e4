/**
 * Child for tests/arena/review4/lock-file-other-thread.test.ts.
 *
 *   bun lock-file-other-thread-child.ts DIRECTORY WAIT_MS
 *
 * The main thread opens DIRECTORY/x.arena and keeps it open. A Worker of this
 * same process then calls create("DIRECTORY/x.arena.shared"): the lock file of
 * an arena this process has open. Prints {sameThread, worker}: what create()
 * of that path gave on the main thread, and what the Worker answered within
 * WAIT_MS ("no answer" if it was still blocked). Then closes the arena and exits.
 */
import { join } from "node:path";
import { MappedFileRegionArena } from "../../../../lib/index.ts";

const [directory, waitText] = process.argv.slice(2) as [string, string];
const path = join(directory, "x.arena");
const arena = MappedFileRegionArena.create(path, { capacity: 1 << 20 });

function codeOf(open: () => MappedFileRegionArena): string {
  try {
    open().close();
    return "opened";
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}
const sameThread = codeOf(() => MappedFileRegionArena.create(`${path}.shared`, { capacity: 1 << 20 }));

const library = new URL("../../../../lib/index.ts", import.meta.url).href;
const source = `import { MappedFileRegionArena } from ${JSON.stringify(library)};
let answer;
try { MappedFileRegionArena.create(${JSON.stringify(`${path}.shared`)}, { capacity: 1 << 20 }).close(); answer = "opened"; }
catch (error) { answer = error.code ?? String(error); }
postMessage(answer);`;
const workerPath = join(directory, "worker.ts");
await Bun.write(workerPath, source);
const worker = new Worker(workerPath);
const workerAnswer = await Promise.race([
  new Promise<string>((resolve) => (worker.onmessage = (event) => resolve(event.data as string))),
  Bun.sleep(Number(waitText)).then(() => "no answer"),
]);
console.log(JSON.stringify({ sameThread, worker: workerAnswer }));
arena.close();
process.exit(0);
