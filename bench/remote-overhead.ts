/**
 * What a remote hit costs this thread beyond the transfer: `store.remote.get`
 * with `fetch` answered from memory (no socket, no HTTP thread, no server),
 * against the floor's own work done the same way (the answer's bytes, then a
 * local `put`). On loopback a hit's wall time swings by tens of µs with the
 * machine's load; this measures the few µs the store's own code adds, which
 * the real bench (bench/remote.ts) cannot resolve. Not part of `bun run bench`;
 * run it by hand:
 *
 *   npx bun bench/remote-overhead.ts [rounds]
 *
 * The replaced fetch ignores the request's options (headers, signal,
 * redirect, decompress), so their cost inside Bun's client is not counted
 * here; bench/remote-breakdown.ts's "fixed cost" rows measure those.
 */
import { join } from "node:path";
import { ContentStore } from "../lib/index.ts";
import { median } from "./harness.ts";
import { scratchDirectory } from "./scratch.ts";

const rounds = Number(process.argv[2] ?? 11);
const ops = 2000;
const size = 1024;

const blobs = new Map<string, Uint8Array>();
/** fetch of `.../cas/<id>`: a Response of the blob, as a server would send it (with its Content-Length). */
const memoryFetch = (url: string) => {
  const blob = blobs.get(url.slice(url.lastIndexOf("/") + 1));
  if (blob === undefined) return Promise.resolve(new Response("not found", { status: 404 }));
  return Promise.resolve(new Response(blob, { headers: { "content-length": String(blob.length) } }));
};
globalThis.fetch = memoryFetch as unknown as typeof fetch;

let directories = 0;
const directory = (name: string) => join(scratchDirectory, `overhead-${name}-${process.pid}-${(directories += 1)}`);
const floor = ContentStore.open(directory("floor"));
const reader = ContentStore.open(directory("reader"), { remote: { url: "http://127.0.0.1:9/cache" } });
const url = (id: string) => `http://127.0.0.1:9/cache/cas/${id}`;

const candidates: [name: string, run: (id: string) => Promise<unknown>][] = [
  ["the answer's bytes alone (await fetch, bytes())", async (id) => (await fetch(url(id))).bytes()],
  ["floor: the answer's bytes, then store.put of them", async (id) => floor.put(await (await fetch(url(id))).bytes())],
  ["store.remote.get, a local miss", (id) => reader.remote!.get(id)],
];

try {
  // Every (round, candidate) reads blobs of its own (round -1 warms up).
  const ids = Array.from({ length: rounds + 1 }, () =>
    candidates.map(() =>
      Array.from({ length: ops }, () => {
        const blob = crypto.getRandomValues(new Uint8Array(size));
        const id = new Bun.CryptoHasher("sha256").update(blob).digest("hex");
        blobs.set(id, blob);
        return id;
      }),
    ),
  );
  const threadCpu = () => {
    const { user, system } = process.threadCpuUsage();
    return (user + system) * 1000;
  };
  const wall: number[][] = candidates.map(() => []);
  const cpu: number[][] = candidates.map(() => []);
  for (let round = -1; round < rounds; round++) {
    for (let step = 0; step < candidates.length; step++) {
      const index = (Math.max(round, 0) + step) % candidates.length;
      const run = candidates[index]![1];
      Bun.gc(true);
      const startWall = Bun.nanoseconds();
      const startCpu = threadCpu();
      for (const id of ids[round + 1]![index]!) await run(id);
      if (round >= 0) {
        wall[index]!.push((Bun.nanoseconds() - startWall) / ops);
        cpu[index]!.push((threadCpu() - startCpu) / ops);
      }
    }
  }
  if (reader.remoteStats()!.hits !== (rounds + 1) * ops) throw new Error(`not every get was a hit: ${JSON.stringify(reader.remoteStats())}`);
  const micro = (samples: number[]) => `${(median(samples) / 1000).toFixed(2).padStart(6)} (${(Math.min(...samples) / 1000).toFixed(2)} - ${(Math.max(...samples) / 1000).toFixed(2)})`;
  console.log(`${size} B, fetch answered from memory, ${rounds} rounds of ${ops}: µs per blob, median (min - max)`);
  console.log(`${"".padEnd(52)} ${"wall".padStart(22)} ${"JS thread CPU".padStart(22)}`);
  candidates.forEach(([name], index) => console.log(`${name.padEnd(52)} ${micro(wall[index]!).padStart(22)} ${micro(cpu[index]!).padStart(22)}`));
} finally {
  floor.close();
  reader.close();
}
