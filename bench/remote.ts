/**
 * The remote cache (lib/store/remote) against a real nginx on 127.0.0.1, the
 * server the tests use. Two questions, each as ratios measured side by side:
 *
 * - A remote hit (a local miss that the remote satisfies: GET, SHA-256 check,
 *   local put, then get) against a plain `fetch(url).arrayBuffer()` of the same
 *   blob from the same server, and against a local hit; for 1 KiB and 1 MiB.
 *   Each round fetches blobs that are not in the round's fresh local store.
 *   Also "plain fetch + SHA-256": the floor of any read that verifies what it got.
 * - put with a remote configured against put without one (1 KiB objects): the
 *   put loop is timed; the uploads it queued drain between rounds, untimed (they
 *   run when the caller awaits, on the same thread: their cost is not put's).
 *
 * The rounds are interleaved (the order rotates), as in harness.ts, whose
 * compare() cannot await.
 */
import { join } from "node:path";
import { ContentStore } from "../lib/index.ts";
import { startNginx } from "../tests/store/remote/nginx.ts";
import { median, type Row } from "./harness.ts";
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

async function compareAsync(group: string, baseline: string, ops: number, rounds: number, candidates: AsyncCandidate[]): Promise<Row[]> {
  const samples: number[][] = candidates.map(() => []);
  for (let round = -1; round < rounds; round++) {
    // Round -1 warms up the JIT and the connections; it is not counted.
    for (let step = 0; step < candidates.length; step++) {
      const index = (Math.max(round, 0) + step) % candidates.length;
      const candidate = candidates[index]!;
      await candidate.prepare?.(round);
      const start = Bun.nanoseconds();
      await candidate.run(round);
      const nsPerOp = (Bun.nanoseconds() - start) / ops;
      await candidate.after?.(round);
      if (round >= 0) samples[index]!.push(nsPerOp);
    }
  }
  const medians = samples.map(median);
  const baselineIndex = candidates.findIndex((candidate) => candidate.name === baseline);
  return candidates.map((candidate, index) => ({
    group,
    name: candidate.name,
    nsPerOp: medians[index]!,
    minNsPerOp: Math.min(...samples[index]!),
    maxNsPerOp: Math.max(...samples[index]!),
    rounds,
    opsPerRound: ops,
    baseline,
    ratio: medians[index]! / medians[baselineIndex]!,
  }));
}

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

export async function benchRemote(): Promise<{ rows: Row[]; goals: Goal[] }> {
  const nginx = await startNginx();
  try {
    const rows: Row[] = [];
    const rounds = 11;
    const goals: Goal[] = [];
    for (const [label, size, ops] of [["1 KiB", 1024, 400], ["1 MiB", 2 ** 20, 24]] as const) {
      // Every round needs blobs its fresh store has not seen: upload (rounds + 1) x ops of them.
      const ids: string[][] = [];
      {
        await using source = ContentStore.open(freshDirectory("source"), { remote: { url: nginx.url, maxPending: 1_000_000 } });
        for (let round = 0; round <= rounds; round++) {
          ids.push(Array.from({ length: ops }, (_, index) => source.put(blob(size, index, round + size))));
          await source.flush();
        }
        if (source.remoteStats()!.uploadsFailed > 0) throw new Error(`bench: uploads to nginx failed: ${source.remoteStats()!.lastError}`);
      }
      const idsOf = (round: number) => ids[round + 1]!;
      let reader: ContentStore | null = null;
      let local: ContentStore | null = null;
      let total = 0;
      const digest = new Uint8Array(32);
      const plain = `plain fetch of the blob (${label})`;
      const remote = `store.remote.get, a local miss (${label})`;
      const hits = await compareAsync(`remote hit ${label}`, plain, ops, rounds, [
          {
            name: plain,
            async run(round) {
              for (const id of idsOf(round)) total += (await (await fetch(`${nginx.url}/cas/${id}`)).arrayBuffer()).byteLength;
            },
          },
          {
            // What any verified read must do at least: the "hashed ... only if its SHA-256 matches".
            name: `plain fetch + SHA-256 (${label}): the floor`,
            async run(round) {
              for (const id of idsOf(round)) {
                const bytes = new Uint8Array(await (await fetch(`${nginx.url}/cas/${id}`)).arrayBuffer());
                Bun.SHA256.hash(bytes, digest);
                total += bytes.length;
              }
            },
          },
          {
            name: remote,
            prepare() {
              reader = ContentStore.open(freshDirectory("reader"), { remote: { url: nginx.url } });
            },
            async run(round) {
              for (const id of idsOf(round)) total += (await reader!.remote!.get(id))!.data.length;
            },
            after() {
              if (reader!.remoteStats()!.hits === 0) throw new Error(`bench: no remote hits: ${reader!.remoteStats()!.lastError}`);
              reader!.close();
            },
          },
          {
            name: `store.get, a local hit (${label})`,
            async prepare(round) {
              local = ContentStore.open(freshDirectory("local"), { remote: { url: nginx.url } });
              for (const id of idsOf(round)) await local.remote!.get(id);
            },
            run(round) {
              for (const id of idsOf(round)) total += local!.get(id)!.data.length;
            },
            after() {
              local!.close();
            },
          },
        ]);
      rows.push(...hits);
      const ratio = hits.find((row) => row.name === remote)!.ratio;
      goals.push({ goal: `remote hit ${label}: store.remote.get <= 1.10x a plain fetch of the blob`, value: ratio, unit: "x", met: ratio <= 1.1 });
      if (total === 0) throw new Error("bench: nothing read");
    }

    // put with and without a remote: distinct 1 KiB blobs, the uploads drained between rounds.
    const putOps = 2000;
    const blobs = Array.from({ length: (rounds + 1) * 2 }, (_, round) => Array.from({ length: putOps }, (_, index) => blob(1024, index, 1e6 + round)));
    const withRemote = ContentStore.open(freshDirectory("put-remote"), { remote: { url: nginx.url, maxPending: 1_000_000 } });
    const withoutRemote = ContentStore.open(freshDirectory("put-local"));
    try {
      const putLoop = (store: ContentStore, offset: number) => (round: number) => {
        for (const bytes of blobs[(round + 1) * 2 + offset]!) store.put(bytes);
      };
      const puts = await compareAsync("put 1 KiB", "put, no remote", putOps, rounds, [
          // The uploads' garbage is collected between rounds (for both), not inside the next timed loop.
          { name: "put, no remote", run: putLoop(withoutRemote, 0), after: () => Bun.gc(true) },
          {
            name: "put, remote configured (uploads behind)",
            run: putLoop(withRemote, 1),
            async after() {
              await withRemote.flush();
              Bun.gc(true);
            },
          },
        ]);
      rows.push(...puts);
      const ratio = puts[1]!.ratio;
      goals.push({ goal: "put 1 KiB with a remote configured <= 1.2x put without one", value: ratio, unit: "x", met: ratio <= 1.2 });
      const stats = withRemote.remoteStats()!;
      if (stats.uploaded !== (rounds + 1) * putOps) throw new Error(`bench: ${stats.uploaded} uploads, expected ${(rounds + 1) * putOps}: ${stats.lastError}`);
    } finally {
      withRemote.close();
      withoutRemote.close();
    }
    return { rows, goals };
  } finally {
    await nginx.dispose();
  }
}

if (import.meta.main) {
  const { rows, goals } = await benchRemote();
  for (const row of rows) {
    console.log(`${row.group.padEnd(16)} ${row.name.padEnd(44)} ${(row.nsPerOp / 1000).toFixed(1).padStart(9)} µs  ${row.ratio.toFixed(2)}x`);
  }
  for (const goal of goals) console.log(`${goal.met ? "met    " : "NOT met"} ${goal.goal}: ${goal.value.toFixed(2)}${goal.unit}`);
}
