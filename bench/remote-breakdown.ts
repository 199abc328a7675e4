/**
 * Where a remote hit's time goes, and what the ideas for cutting it measured.
 * Not part of `bun run bench` (it makes no goal rows): run it by hand,
 *
 *   npx bun bench/remote-breakdown.ts [1024|1048576] [rounds]
 *
 * against the same nginx on 127.0.0.1 as bench/remote.ts. Every candidate reads
 * blobs no store of this run has seen, in interleaved rounds; each prints its
 * wall time and the CPU time of this process's JavaScript thread per blob
 * (process.threadCpuUsage: the kernel's work on that thread, page faults and
 * system calls, counts; Bun's HTTP thread and nginx do not), median and
 * min - max. docs/performance.md ("A remote hit") reads these figures.
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, write, writeSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../lib/index.ts";
import { startNginx } from "../tests/store/remote/nginx.ts";
import { median } from "./harness.ts";
import { scratchDirectory } from "./scratch.ts";

const size = Number(process.argv[2] ?? 2 ** 20);
const rounds = Number(process.argv[3] ?? 11);
const ops = size >= 2 ** 20 ? 8 : 200;

interface Candidate {
  name: string;
  /** One blob: `id` on the server, or (names starting "no network") `bytes`, its content. */
  run(id: string, bytes: Uint8Array): Promise<void> | void;
  /** After a round's last blob, timed: work the candidate left for later. */
  finish?(): void;
}
const needsServer = (candidate: Candidate) => !candidate.name.startsWith("no network");

const nginx = await startNginx();
let directories = 0;
const directory = (name: string) => join(scratchDirectory, `breakdown-${name}-${(directories += 1)}`);
const files = directory("files");
mkdirSync(files, { recursive: true });
const reader = ContentStore.open(directory("reader"), { remote: { url: nginx.url } });
const floor = ContentStore.open(directory("floor"));
const writer = ContentStore.open(directory("writer"));
const url = (id: string) => `${nginx.url}/cas/${id}`;
const digest = new Uint8Array(32);
const digestOut = new Uint8Array(64); // CryptoHasher.digest(buffer) wants room for any algorithm's digest
let fileNumber = 0;
let total = 0;

/** Writes `bytes` to a new file and renames it into place: what the store does for an object of 64 KiB and up. */
function writeFileSyncRenamed(bytes: Uint8Array): void {
  const path = join(files, `f${(fileNumber += 1)}`);
  const fd = openSync(`${path}.tmp`, "wx", 0o644);
  for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
  closeSync(fd);
  renameSync(`${path}.tmp`, path);
}

/** The same, the write made by a thread of Bun's pool; resolves once renamed. */
function writeFileOffThread(bytes: Uint8Array): Promise<void> {
  const path = join(files, `f${(fileNumber += 1)}`);
  const fd = openSync(`${path}.tmp`, "wx", 0o644);
  return new Promise((resolve, reject) => {
    const from = (offset: number): void =>
      write(fd, bytes, offset, bytes.length - offset, offset, (error, count) => {
        if (error !== null) return reject(error);
        if (offset + count < bytes.length) return from(offset + count);
        closeSync(fd);
        renameSync(`${path}.tmp`, path);
        resolve();
      });
    from(0);
  });
}

/** Reads a streamed body chunk by chunk (readMany: every chunk that has arrived), handing each to `chunk`. */
async function eachChunk(response: Response, chunk: (bytes: Uint8Array) => void): Promise<void> {
  const reader = response.body!.getReader() as ReadableStreamDefaultReader<Uint8Array> & {
    readMany(): Promise<{ done: boolean; value: Uint8Array[] }>;
  };
  // Bounded by the body: each pass takes what has arrived, or ends.
  for (;;) {
    const { done, value } = await reader.readMany();
    for (const bytes of value ?? []) chunk(bytes);
    if (done) return;
  }
}

const sharedSignal = new AbortController().signal;
/** Bodies fetched and checked whose local put was put off (the "write after" ideas), oldest first. */
let putOff: Uint8Array[] = [];
const putDeferred = () => {
  for (const bytes of putOff) floor.put(bytes);
  putOff = [];
};
const candidates: Candidate[] = [
  { name: "plain fetch(url).arrayBuffer(): the baseline", run: async (id) => void (total += (await (await fetch(url(id))).arrayBuffer()).byteLength) },
  { name: "no network: SHA-256 alone", run: (_, bytes) => Bun.SHA256.hash(bytes, digest) },
  { name: "no network: store.put alone (SHA-256 + the local write)", run: (_, bytes) => void writer.put(bytes) },
  ...(size >= 64 * 1024 ? [{ name: "no network: a new file written and renamed alone", run: (_: string, bytes: Uint8Array) => writeFileSyncRenamed(bytes) }] : []),
  {
    name: "floor: fetch + SHA-256",
    async run(id) {
      Bun.SHA256.hash(await (await fetch(url(id))).bytes(), digest);
    },
  },
  { name: "floor: fetch + store.put of the body", run: async (id) => void floor.put(await (await fetch(url(id))).bytes()) },
  { name: "store.remote.get, a local miss", run: async (id) => void (total += (await reader.remote!.get(id))!.data.length) },
  {
    // What a write-behind of hits would do: hand the bytes over (a copy: the ones waiting are not the caller's to change), put them at setImmediate.
    name: "idea: fetch + put, the put made at setImmediate, after the next request is sent",
    async run(id) {
      const bytes = await (await fetch(url(id))).bytes();
      total += bytes.slice().length;
      if (putOff.push(bytes) === 1) setImmediate(putDeferred);
    },
    finish: putDeferred,
  },
  {
    name: "idea: fetch + put, the put made by the next call, once its request is sent",
    async run(id) {
      const response = fetch(url(id));
      putDeferred();
      const bytes = await (await response).bytes();
      total += bytes.slice().length;
      putOff.push(bytes);
    },
    finish: putDeferred,
  },
  {
    name: "idea: streamed, hashed chunk by chunk as it arrives (no copy kept)",
    async run(id) {
      const hasher = new Bun.CryptoHasher("sha256");
      await eachChunk(await fetch(url(id)), (bytes) => hasher.update(bytes));
      hasher.digest(digestOut);
    },
  },
  {
    name: "idea: streamed, hashed, each chunk copied into one allocation sized from Content-Length",
    async run(id) {
      const response = await fetch(url(id));
      const whole = new Uint8Array(Number(response.headers.get("content-length")));
      const hasher = new Bun.CryptoHasher("sha256");
      let at = 0;
      await eachChunk(response, (bytes) => {
        hasher.update(bytes);
        whole.set(bytes, at);
        at += bytes.length;
      });
      hasher.digest(digestOut);
    },
  },
  ...(size >= 64 * 1024
    ? [
        {
          name: "idea: fetch, then the file written on a pool thread while this one hashes",
          async run(id: string) {
            const bytes = await (await fetch(url(id))).bytes();
            const written = writeFileOffThread(bytes);
            Bun.SHA256.hash(bytes, digest);
            await written;
          },
        },
        {
          name: "the same, serial: fetch, SHA-256, the file written",
          async run(id: string) {
            const bytes = await (await fetch(url(id))).bytes();
            Bun.SHA256.hash(bytes, digest);
            writeFileSyncRenamed(bytes);
          },
        },
      ]
    : [
        {
          name: "fixed cost: fetch + put with an AbortController and a timer per request",
          async run(id: string) {
            const controller = new AbortController();
            const timer = setTimeout(() => controller.abort(), 60_000);
            floor.put(await (await fetch(url(id), { signal: controller.signal })).bytes());
            clearTimeout(timer);
          },
        },
        {
          name: "fixed cost: fetch + put with one signal shared by every request",
          run: async (id: string) => void floor.put(await (await fetch(url(id), { signal: sharedSignal })).bytes()),
        },
        {
          name: "fixed cost: fetch + put, redirect: manual and Content-Length read",
          async run(id: string) {
            const response = await fetch(url(id), { redirect: "manual" });
            total += Number(response.headers.get("content-length"));
            floor.put(await response.bytes());
          },
        },
      ]),
];

try {
  // Every (round, candidate) reads its own blobs (round -1 warms up); those that
  // fetch find them on nginx, the others get them in memory, made before the round.
  const blobOf = (round: number, candidate: number, index: number) => {
    const bytes = new Uint8Array(size);
    crypto.getRandomValues(bytes.subarray(0, Math.min(size, 65536)));
    new DataView(bytes.buffer).setFloat64(0, ((round + 1) * candidates.length + candidate) * ops + index, true);
    return bytes;
  };
  const ids: string[][][] = [];
  {
    await using source = ContentStore.open(directory("source"), { remote: { url: nginx.url, maxPending: 1_000_000 } });
    for (let round = -1; round < rounds; round++) {
      ids.push(candidates.map((candidate, index) => (needsServer(candidate) ? Array.from({ length: ops }, (_, blob) => source.put(blobOf(round, index, blob))) : [])));
      await source.flush();
    }
  }
  const noBytes = new Uint8Array(0);
  const wall: number[][] = candidates.map(() => []);
  const cpu: number[][] = candidates.map(() => []);
  const threadCpu = () => {
    const { user, system } = process.threadCpuUsage();
    return (user + system) * 1000;
  };
  for (let round = -1; round < rounds; round++) {
    for (let step = 0; step < candidates.length; step++) {
      const index = (Math.max(round, 0) + step) % candidates.length;
      const candidate = candidates[index]!;
      const work = needsServer(candidate)
        ? ids[round + 1]![index]!.map((id) => ({ id, bytes: noBytes }))
        : Array.from({ length: ops }, (_, blob) => ({ id: "", bytes: blobOf(round, index, blob) }));
      Bun.gc(true);
      const startWall = Bun.nanoseconds();
      const startCpu = threadCpu();
      for (const { id, bytes } of work) await candidate.run(id, bytes);
      candidate.finish?.();
      if (round >= 0) {
        wall[index]!.push((Bun.nanoseconds() - startWall) / ops);
        cpu[index]!.push((threadCpu() - startCpu) / ops);
      }
    }
    rmSync(files, { recursive: true, force: true });
    mkdirSync(files);
  }
  const micro = (samples: number[]) =>
    `${(median(samples) / 1000).toFixed(1).padStart(7)} (${(Math.min(...samples) / 1000).toFixed(1)} - ${(Math.max(...samples) / 1000).toFixed(1)})`;
  const baseline = median(wall[0]!);
  console.log(`${size} B, ${rounds} rounds of ${ops}: µs per blob, median (min - max); ratio of wall medians to the plain fetch`);
  console.log(`${"".padEnd(88)} ${"wall".padStart(24)} ${"JS thread CPU".padStart(26)}`);
  candidates.forEach((candidate, index) => {
    console.log(`${candidate.name.padEnd(88)} ${micro(wall[index]!).padStart(24)} ${micro(cpu[index]!).padStart(26)}  ${(median(wall[index]!) / baseline).toFixed(2)}x`);
  });
  if (total === 0) throw new Error("nothing read");
} finally {
  reader.close();
  floor.close();
  writer.close();
  await nginx.dispose();
}
