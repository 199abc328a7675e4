/**
 * The remote cache (lib/store/remote) against a real nginx on 127.0.0.1, the
 * server the tests use. Two questions, each as ratios measured side by side in
 * interleaved rounds (the order rotates each round, as in harness.ts, whose
 * compare() cannot await):
 *
 * - A remote hit, for 1 KiB and 1 MiB: `store.remote.get(id)` on a local miss
 *   (GET, SHA-256 check, local put, the bytes returned) against a plain
 *   `fetch(url).arrayBuffer()` of the same blob from the same server (the
 *   baseline: the transfer and nothing else). Beside them, what bounds the
 *   store from below: the plain fetch plus a SHA-256 of the body (what any read
 *   that checks its bytes must do); the plain fetch plus a local `put` of the
 *   body into a store without a remote (the check and the local copy: put
 *   hashes once and writes once, as the remote path does, so this is the floor
 *   of `store.remote.get`); without the network, a SHA-256 of the blob alone and
 *   a local `put` of it alone (the store writes a 1 MiB object to a file of its
 *   own); and a local hit. Wall time: the rows with a fetch wait
 *   on another process (nginx) and Bun's HTTP thread, which CPU time would
 *   partly miss. The reading store stays open across rounds (a long-lived
 *   process's store, its files and mappings warm, as the plain fetch's
 *   connection is) and each round asks for ids it has never seen, so every
 *   remote get is a local miss.
 * - `put` of 1 KiB with a remote configured against `put` without one, counted
 *   two ways. "What the caller waits": the put loop alone, in wall time; the
 *   uploads it queued drain after the loop, untimed (the issue's goal: put
 *   returns at local speed). "put and its upload": the CPU time of this process
 *   over the put loop and the flush that waits for its uploads, so the uploads'
 *   work (Bun's HTTP thread included) is counted; nginx's own CPU is not.
 *   Beside it, the floor of an upload: the same puts, then one plain fetch PUT
 *   per blob, as many at once as the uploader sends (its default concurrency).
 */
import { join } from "node:path";
import { ContentStore } from "../lib/index.ts";
import { startNginx, type Nginx } from "../tests/store/remote/nginx.ts";
import { cpuNanoseconds, rowsFromSamples, type Row } from "./harness.ts";
import { scratchDirectory } from "./scratch.ts";

interface AsyncCandidate {
  name: string;
  /** Untimed, before each round. */
  prepare?(round: number): Promise<void> | void;
  /** Runs one round's operations; timed. */
  run(round: number): Promise<void> | void;
  /** Untimed, after each round. */
  after?(round: number): Promise<void> | void;
}

/** harness.ts's compare() for candidates that await: interleaved rounds, medians, ratios. */
async function compareAsync(
  group: string,
  options: { baseline: string; ops: number; rounds: number; clock?: "wall" | "cpu" },
  candidates: AsyncCandidate[],
): Promise<Row[]> {
  const { baseline, ops, rounds } = options;
  const now = options.clock === "cpu" ? cpuNanoseconds : Bun.nanoseconds;
  const samples: number[][] = candidates.map(() => []);
  for (let round = -1; round < rounds; round++) {
    // Round -1 warms up the JIT and the connections; it is not counted.
    for (let step = 0; step < candidates.length; step++) {
      const index = (Math.max(round, 0) + step) % candidates.length;
      const candidate = candidates[index]!;
      await candidate.prepare?.(round);
      const start = now();
      await candidate.run(round);
      const nsPerOp = (now() - start) / ops;
      await candidate.after?.(round);
      if (round >= 0) samples[index]!.push(nsPerOp);
    }
  }
  return rowsFromSamples(group, candidates.map((candidate) => candidate.name), samples, baseline, candidates.map(() => ops));
}

/** A blob no other (index, salt) gives: random head (so it does not compress), the two numbers, zeros. */
function blob(size: number, index: number, salt: number): Uint8Array {
  const bytes = new Uint8Array(size);
  crypto.getRandomValues(bytes.subarray(0, Math.min(size, 65536)));
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, index, true);
  view.setFloat64(8, salt, true);
  return bytes;
}

let directories = 0;
function freshDirectory(name: string): string {
  directories += 1;
  return join(scratchDirectory, `remote-${name}-${directories}`);
}

export interface Goal {
  goal: string;
  value: number;
  unit: string;
  met: boolean;
}

const rounds = 15;

async function benchHit(nginx: Nginx, label: string, size: number, ops: number): Promise<{ rows: Row[]; goal: Goal }> {
  // Round r (from -1) reads ids[r + 1], which no store of this group has seen yet.
  const ids: string[][] = [];
  {
    await using source = ContentStore.open(freshDirectory("source"), { remote: { url: nginx.url, maxPending: 1_000_000 } });
    for (let round = -1; round < rounds; round++) {
      ids.push(Array.from({ length: ops }, (_, index) => source.put(blob(size, index, round + size))));
      await source.flush();
    }
    if (source.remoteStats()!.uploadsFailed > 0) throw new Error(`bench: uploads to nginx failed: ${source.remoteStats()!.lastError}`);
  }
  const idsOf = (round: number) => ids[round + 1]!;
  const reader = ContentStore.open(freshDirectory("reader"), { remote: { url: nginx.url } });
  const local = ContentStore.open(freshDirectory("local"), { remote: { url: nginx.url } });
  const writer = ContentStore.open(freshDirectory("writer"));
  const floor = ContentStore.open(freshDirectory("floor"));
  try {
    // The local hit reads one set of ids, fetched once, every round.
    const localIds = idsOf(-1);
    for (const id of localIds) if ((await local.remote!.get(id)) === null) throw new Error(`bench: ${id} not on nginx`);
    let blobs: Uint8Array[] = [];
    const makeBlobs = (round: number) => {
      blobs = Array.from({ length: ops }, (_, index) => blob(size, index, 1e9 + round * 2 + size));
    };
    let total = 0;
    const digest = new Uint8Array(32);
    const url = (id: string) => `${nginx.url}/cas/${id}`;
    const plain = `plain fetch(url).arrayBuffer() (${label})`;
    const remote = `store.remote.get, a local miss (${label})`;
    const rows = await compareAsync(`remote hit ${label}`, { baseline: plain, ops, rounds }, [
      {
        name: plain,
        async run(round) {
          for (const id of idsOf(round)) total += (await (await fetch(url(id))).arrayBuffer()).byteLength;
        },
      },
      {
        name: `floor: plain fetch + SHA-256 of the body (${label})`,
        async run(round) {
          for (const id of idsOf(round)) {
            const bytes = new Uint8Array(await (await fetch(url(id))).arrayBuffer());
            Bun.SHA256.hash(bytes, digest);
            total += bytes.length;
          }
        },
      },
      {
        // The least a read that verifies and keeps what it got can do with this store: put hashes the body (the check) and stores it.
        name: `floor: plain fetch + store.put of the body (${label})`,
        async run(round) {
          for (const id of idsOf(round)) total += floor.put(await (await fetch(url(id))).bytes()).length;
        },
      },
      {
        name: remote,
        async run(round) {
          for (const id of idsOf(round)) total += (await reader.remote!.get(id))!.data.length;
        },
      },
      {
        name: `store.get, a local hit (${label})`,
        run() {
          for (const id of localIds) total += local.get(id)!.data.length;
        },
      },
      {
        name: `no network: SHA-256 of the blob alone (${label})`,
        prepare: makeBlobs,
        run() {
          for (const bytes of blobs) Bun.SHA256.hash(bytes, digest);
        },
      },
      {
        name: `no network: store.put of the blob alone, no remote (${label})`,
        prepare: makeBlobs,
        run() {
          for (const bytes of blobs) total += writer.put(bytes).length;
        },
      },
    ]);
    const stats = reader.remoteStats()!;
    if (stats.hits !== (rounds + 1) * ops) throw new Error(`bench: ${stats.hits} remote hits, expected ${(rounds + 1) * ops}: ${stats.lastError}`);
    if (total === 0) throw new Error("bench: nothing read");
    const ratio = rows.find((row) => row.name === remote)!.ratio;
    return { rows, goal: { goal: `remote hit ${label}: store.remote.get <= 1.10x a plain fetch of the blob`, value: ratio, unit: "x", met: ratio <= 1.1 } };
  } finally {
    reader.close();
    local.close();
    writer.close();
    floor.close();
  }
}

async function benchPut(nginx: Nginx): Promise<{ rows: Row[]; goal: Goal }> {
  const ops = 2000;
  // A round's put loop takes a few ms, a slice a neighbour's burst can fill: more rounds than the hits.
  const rounds = 31;
  let salt = 0;
  const freshBlobs = () => {
    salt += 1;
    return Array.from({ length: ops }, (_, index) => blob(1024, index, 1e6 + salt));
  };
  const withRemote = ContentStore.open(freshDirectory("put-remote"), { remote: { url: nginx.url, maxPending: 1_000_000 } });
  const withoutRemote = ContentStore.open(freshDirectory("put-local"));
  const floorStore = ContentStore.open(freshDirectory("put-floor"));
  try {
    let blobs: Uint8Array[] = [];
    const prepare = () => {
      blobs = freshBlobs();
      Bun.gc(true); // the last round's garbage is collected here, not inside the next timed loop
    };
    const putAll = (store: ContentStore) => () => {
      for (const bytes of blobs) store.put(bytes);
    };
    const local = "put, no remote";
    const waits = await compareAsync("put 1 KiB: what the caller waits (wall)", { baseline: local, ops, rounds }, [
      { name: local, prepare, run: putAll(withoutRemote) },
      {
        name: "put, remote configured (its uploads drain after the loop, untimed)",
        prepare,
        run: putAll(withRemote),
        after: () => withRemote.flush().then(() => {}),
      },
    ]);
    const costs = await compareAsync("put 1 KiB and its upload (CPU time of this process)", { baseline: local, ops, rounds, clock: "cpu" }, [
      { name: local, prepare, run: putAll(withoutRemote) },
      {
        // The least an upload can cost: one plain PUT per object, `concurrency` (4) at a time, as the uploader sends them.
        name: "floor: put, no remote, then a plain fetch PUT of each blob, 4 at a time",
        prepare,
        async run() {
          const ids = blobs.map((bytes) => floorStore.put(bytes));
          let next = 0;
          const worker = async () => {
            while (next < ids.length) {
              const index = next++;
              await (await fetch(`${nginx.url}/cas/${ids[index]}`, { method: "PUT", body: blobs[index] })).arrayBuffer();
            }
          };
          await Promise.all([worker(), worker(), worker(), worker()]);
        },
      },
      {
        name: "put + flush, remote configured (the upload's CPU counted; nginx's not)",
        prepare,
        async run() {
          putAll(withRemote)();
          await withRemote.flush();
        },
      },
    ]);
    const stats = withRemote.remoteStats()!;
    const expected = (rounds + 1) * 2 * ops;
    if (stats.uploaded !== expected) throw new Error(`bench: ${stats.uploaded} uploads, expected ${expected}: ${stats.lastError}`);
    const ratio = waits[1]!.ratio;
    return {
      rows: [...waits, ...costs],
      goal: { goal: "put 1 KiB with a remote configured <= 1.2x put without one (what the caller waits)", value: ratio, unit: "x", met: ratio <= 1.2 },
    };
  } finally {
    withRemote.close();
    withoutRemote.close();
    floorStore.close();
  }
}

export async function benchRemote(): Promise<{ rows: Row[]; goals: Goal[] }> {
  const nginx = await startNginx();
  try {
    const rows: Row[] = [];
    const goals: Goal[] = [];
    for (const [label, size, ops] of [["1 KiB", 1024, 400], ["1 MiB", 2 ** 20, 16]] as const) {
      const hit = await benchHit(nginx, label, size, ops);
      rows.push(...hit.rows);
      goals.push(hit.goal);
    }
    const put = await benchPut(nginx);
    rows.push(...put.rows);
    goals.push(put.goal);
    return { rows, goals };
  } finally {
    await nginx.dispose();
  }
}

if (import.meta.main) {
  const { rows, goals } = await benchRemote();
  const micro = (ns: number) => (ns / 1000).toFixed(1).padStart(8);
  for (const row of rows) {
    console.log(`${row.group.slice(0, 22).padEnd(22)} ${row.name.padEnd(70)} ${micro(row.nsPerOp)} µs (${micro(row.minNsPerOp)} - ${micro(row.maxNsPerOp)})  ${row.ratio.toFixed(2)}x`);
  }
  for (const goal of goals) console.log(`${goal.met ? "met    " : "NOT met"} ${goal.goal}: ${goal.value.toFixed(2)}${goal.unit}`);
}
