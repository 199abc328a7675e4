/**
 * Child for views-after-close.test.ts: hands a 64 MiB arena view to a standard
 * API that reads it on another thread (node:zlib's asynchronous gzip or
 * brotliCompress), then closes the arena at once, as a caller that does not
 * await before closing would. Prints how the operation ended.
 *
 *   bun async-reader-at-close.ts PATH gzip|brotli
 */
import * as zlib from "node:zlib";
import { MappedFileRegionArena } from "../../../lib/index.ts";

const [path, how] = process.argv.slice(2) as [string, string];
const arena = MappedFileRegionArena.create(path, { capacity: 96 << 20 });
const view = arena.allocate(64 << 20);
for (let i = 0; i < view.length; i += 4096) view[i] = i & 0xff;
const compress = how === "gzip" ? zlib.gzip : zlib.brotliCompress;
const done = new Promise<string>((resolve) => compress(view, (error, out) => resolve(error ? `error ${error.message}` : `ok ${out.length}`)));
arena.close();
console.log(JSON.stringify({ outcome: await done }));
