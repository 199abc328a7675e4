/**
 * Child of store-rotation.test.ts: a writer that makes its store rotate again and
 * again (a 32 MiB limit, 16 KiB objects: a new generation every ~1000 puts), for
 * `ms` milliseconds, then prints how many generations it went through.
 *
 *   bun rotating-writer.ts DIRECTORY MS
 */
import { ContentStore } from "../../../../lib/index.ts";

const [directory, msText] = process.argv.slice(2);
using store = ContentStore.open(directory!, { maxBytes: 32 * 2 ** 20 });
const bytes = new Uint8Array(16 * 1024);
const words = new DataView(bytes.buffer);
const until = performance.now() + Number(msText);
let puts = 0;
while (performance.now() < until) {
  words.setUint32(0, puts++);
  words.setUint32(4, process.pid);
  store.put(bytes);
}
process.stdout.write(`${JSON.stringify({ puts })}\n`);
