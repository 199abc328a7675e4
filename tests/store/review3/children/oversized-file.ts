// Child of tests/store/review3/large-objects.test.ts. `DIR`: puts a 70,000-byte object (a file of
// its own), makes its file a sparse 512 MiB one (a damaged or hostile file), then calls get() and
// prints {"code", "rssGrowthBytes"}: what get threw and how much its peak memory grew doing so.
import { readFileSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../../../lib/index.ts";
import { objectBytes } from "../../support.ts";

const directory = process.argv[2]!;
const store = ContentStore.open(directory);
const id = store.put(objectBytes(1, 70_000));
truncateSync(join(directory, "v1.0", `leaf.${id}`), 512 * 2 ** 20);
// This process's peak resident memory (VmHWM: of its own address space; getrusage's maxRSS
// starts at the parent's peak after fork and exec, which would hide the growth under a big runner).
const peakBytes = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))![1]) * 1024;
Bun.gc(true);
const before = peakBytes();
let code = "none";
try {
  store.get(id);
} catch (error) {
  code = (error as { code?: string }).code ?? String(error);
}
console.log(JSON.stringify({ code, rssGrowthBytes: peakBytes() - before }));
store.close();
