/**
 * Child of tests/store/read-only-rotation.test.ts: a writer that makes its store
 * rotate again and again (a 32 MiB limit, 16 KiB objects: a new generation every
 * ~1000 puts) until DIRECTORY/stop exists (or MAX_PUTS, should the reader die),
 * then prints how many objects it put.
 *
 *   bun rotating-writer.ts DIRECTORY MAX_PUTS
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";

const [directory, maxPutsText] = process.argv.slice(2) as [string, string];
using store = ContentStore.open(directory, { maxBytes: 32 * 2 ** 20 });
const bytes = new Uint8Array(16 * 1024);
const words = new DataView(bytes.buffer);
const stopFile = join(directory, "stop");
let puts = 0;
while (puts < Number(maxPutsText) && (puts % 64 !== 0 || !existsSync(stopFile))) {
  words.setUint32(0, puts++);
  words.setUint32(4, process.pid);
  store.put(bytes);
}
process.stdout.write(`${JSON.stringify({ puts })}\n`);
