// A child for the second review's tests (tests/store/remote/review2.test.ts and
// tests/store/review2.test.ts): each mode does one thing that may use much memory
// or touch memory after close, and prints one JSON line. Run in a child so that a
// fault or an out-of-memory kill fails the test, not the runner. 127.0.0.1 only.
//   gzip-get DIR STATUS MIB   remote.get of an object that a server on 127.0.0.1 answers
//                             with STATUS and a gzip body of MIB MiB of zeros
//                             (Content-Encoding: gzip; Content-Length the compressed size);
//                             prints the peak RSS growth in MiB and the remote's counters
//   stolen-alias DIR          a view's buffer transferred away, the store closed, then other
//                             stores opened: what the taken bytes show, and a write through them
//   gone-uploads DIR N        a bounded store (32 MiB) with a remote on 127.0.0.1 that takes
//                             every PUT; N puts of 1000 bytes in one synchronous run (the store
//                             rotates while the uploads wait), then flush: prints how many PUTs
//                             arrived, how many of the objects are still local, the counters,
//                             and the unhandled rejections seen (counted here, not printed)
//   gc DIR                    opens the store, runs gc(), prints what it removed (the test runs
//                             it in a pid namespace of its own, as a container sharing the store)
//   two-stores DIR            two stores of DIR in this process each download a large object,
//                             both held mid-body until both have spilled to tmp/ (or one gave
//                             up): prints each store's lastError and whether each got its bytes
// Any mode also takes --broken=LAYER:NAME (LAYER arena, store or remote): that broken variant
// is turned on first, so the test can show its check failing without the fix.
import { once } from "node:events";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createGzip } from "node:zlib";
import { useBrokenArenaForTests } from "../../../lib/arena/arena-testing.ts";
import type { BrokenArenaVariant } from "../../../lib/arena/broken-variants.ts";
import { ContentStore } from "../../../lib/index.ts";
import { useBrokenRemoteForTests, type BrokenRemoteVariant } from "../../../lib/store/remote/testing.ts";
import { useBrokenVariantForTests, type BrokenVariant } from "../../../lib/store/testing.ts";
import { heldBodies } from "../remote/servers.ts";
import { objectBytes, sha256Hex } from "../support.ts";

const broken = process.argv.find((argument) => argument.startsWith("--broken="))?.slice("--broken=".length);
const [mode, directory, ...rest] = process.argv.slice(2).filter((argument) => !argument.startsWith("--broken=")) as [string, string, ...string[]];
if (broken !== undefined) {
  const [layer, name] = broken.split(":");
  if (layer === "arena") useBrokenArenaForTests(name as BrokenArenaVariant);
  else if (layer === "store") useBrokenVariantForTests(name as BrokenVariant);
  else if (layer === "remote") useBrokenRemoteForTests(name as BrokenRemoteVariant);
  else throw new Error(`unknown layer in --broken=${broken}`);
}

/** Resolves when `condition` holds (checked every 10 ms), or after `timeoutMs` (then false). */
async function until(condition: () => boolean, timeoutMs = 30_000): Promise<boolean> {
  for (const started = Date.now(); Date.now() - started < timeoutMs; await Bun.sleep(10)) if (condition()) return true;
  return condition();
}

/**
 * The gzip of `bytes` zeros, made a MiB at a time: the peak RSS measured after it must not
 * already hold the inflated size (gzipSync of one big array would put it there).
 */
async function gzipOfZeros(bytes: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  gzip.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = once(gzip, "end");
  const zeros = Buffer.alloc(2 ** 20);
  for (let written = 0; written < bytes; written += zeros.length) if (!gzip.write(zeros)) await once(gzip, "drain");
  gzip.end();
  await ended;
  return Buffer.concat(chunks);
}

/**
 * Peak resident set size of this process image so far, in MiB: /proc's VmHWM, which exec
 * resets. Not getrusage's ru_maxrss: Linux carries that over from the forked parent (a test
 * runner of 500 MiB would hide what we measure).
 */
function peakMiB(): number {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
  return match === null ? Number.NaN : Number(match[1]) / 1024;
}

if (mode === "gzip-get") {
  const status = Number(rest[0]);
  const inflated = Number(rest[1]) * 2 ** 20;
  const body = await gzipOfZeros(inflated);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      return new Response(body, { status, headers: { "content-encoding": "gzip", "content-type": "application/octet-stream" } });
    },
  });
  // maxObjectBytes 1 MiB: "a larger body is refused as it arrives"; memoryBufferBytes the default 8 MiB.
  const store = ContentStore.open(directory, { remote: { url: `http://127.0.0.1:${server.port}`, timeoutMs: 120_000, maxObjectBytes: 2 ** 20 } });
  const before = peakMiB();
  const value = await store.remote!.get("ab".repeat(32));
  const growthMiB = Math.round(peakMiB() - before);
  console.log(JSON.stringify({ value: value === null ? null : "object", compressedBytes: body.length, beforeMiB: Math.round(before), growthMiB, stats: store.remoteStats() }));
  store.close();
  server.stop(true);
} else if (mode === "stolen-alias") {
  // docs/store.md, Views: a transferred buffer "is then yours and out of the store's reach
  // (after close it reads zeros)".
  mkdirSync(directory, { recursive: true }); // a store makes only its own directory
  const first = ContentStore.open(join(directory, "first"));
  const expected = objectBytes(1, 1024);
  const view = first.view(first.put(expected))!;
  const { byteOffset, length } = view; // read before the transfer detaches the view
  const taken = new Uint8Array((view.buffer as ArrayBuffer).transfer(), byteOffset, length);
  first.close();
  const zerosAfterClose = taken.every((byte) => byte === 0);
  // Other stores of the same sizes, each with one object of the same length (so at the same pool offset).
  const rounds: { otherObject: boolean; zeros: boolean; writeCorruptedOther: boolean }[] = [];
  for (let round = 0; round < 6; round++) {
    const other = ContentStore.open(join(directory, `other-${round}`));
    const bytes = objectBytes(100 + round, 1024);
    const id = other.put(bytes);
    const otherObject = Buffer.compare(taken, bytes) === 0;
    let writeCorruptedOther = false;
    if (otherObject) {
      taken[0] = taken[0]! ^ 0xff; // a late writer, through what it was handed long ago
      writeCorruptedOther = sha256Hex(other.get(id)!.data) !== id;
    }
    rounds.push({ otherObject, zeros: taken.every((byte) => byte === 0), writeCorruptedOther });
    other.close();
  }
  console.log(JSON.stringify({ zerosAfterClose, rounds }));
} else if (mode === "gone-uploads") {
  let unhandledRejections = 0;
  let firstRejection = "";
  process.on("unhandledRejection", (reason) => {
    unhandledRejections += 1;
    firstRejection ||= String(reason);
  });
  const arrived = new Set<string>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      await request.arrayBuffer();
      arrived.add(new URL(request.url).pathname.slice("/cas/".length));
      return new Response(null, { status: 201 });
    },
  });
  const store = ContentStore.open(directory, { maxBytes: 32 * 2 ** 20, remote: { url: `http://127.0.0.1:${server.port}`, timeoutMs: 60_000 } });
  const ids: string[] = [];
  for (let index = 0; index < Number(rest[0]); index++) ids.push(store.put(objectBytes(index, 1000)));
  const flushed = await store.flush(120_000);
  const local = ids.filter((id) => store.has(id));
  const localNotUploaded = local.filter((id) => !arrived.has(id)).length;
  const stats = store.remoteStats()!;
  store.close();
  server.stop(true);
  console.log(JSON.stringify({ flushed, puts: ids.length, local: local.length, uploaded: arrived.size, localNotUploaded, unhandledRejections, firstRejection, lastError: stats.lastError, uploadsSkipped: stats.uploadsSkipped }));
} else if (mode === "gc") {
  const store = ContentStore.open(directory);
  const removed = store.gc();
  store.close();
  console.log(JSON.stringify({ pid: process.pid, removed }));
} else if (mode === "two-stores") {
  const blobs = [objectBytes(1, 2 ** 20), objectBytes(2, 2 ** 20)];
  const { server, release, held } = heldBodies(blobs);
  const remote = { url: `http://127.0.0.1:${server.port}`, timeoutMs: 60_000, memoryBufferBytes: 64 * 1024 };
  const stores = [ContentStore.open(directory, { remote }), ContentStore.open(directory, { remote })];
  let settled = 0;
  const results = stores.map((store, index) =>
    store.remote!.get(sha256Hex(blobs[index]!)).finally(() => {
      settled += 1;
    }),
  );
  // Both bodies are held until both downloads spill (two files in tmp/), or one has given up.
  const spills = () => (existsSync(join(directory, "tmp")) ? readdirSync(join(directory, "tmp")).length : 0);
  await until(() => held() === 2 && (spills() === 2 || settled > 0));
  release();
  const objects = await Promise.all(results);
  const lastErrors = stores.map((store) => store.remoteStats()!.lastError);
  const fetched = objects.map((object, index) => object !== null && Buffer.compare(object.data, blobs[index]!) === 0);
  for (const store of stores) store.close();
  server.stop(true);
  console.log(JSON.stringify({ lastErrors, fetched }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
