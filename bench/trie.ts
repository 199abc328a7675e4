/**
 * Issue 9's speed goals for OnDiskTrieRawHashMap: 1 M keys of 32 bytes with
 * 8-byte data, looked up in one random order (the same for every candidate), side
 * by side in interleaved rounds (harness.ts):
 *
 * - `find` of a present key against the floor, the same walk in C over the same
 *   file (bench/children/trie-walk.c: slot loads and one hash compare); goal <= 1.5x.
 * - against lmdb-js `getBinaryFast` (its fastest read, no copy); goal: find >= 3x faster.
 * - against bun:sqlite, a primary-key SELECT on a WITHOUT ROWID table of the same
 *   keys; goal: find >= 10x faster.
 * - `insert` of a new key (fresh keys each round, into the same 1 M-key trie); goal <= 2x find.
 * - two processes inserting new keys into one trie against one process; goal >= 1.6x
 *   the records/s (bench/children/trie-inserter.ts).
 *
 * Every candidate gets its keys as ready-made views, made before the clock starts.
 * The trie uses LLVM's default shape (root 10 bits, subtries 6 bits).
 *
 *   bun bench/trie.ts      this group alone (bun run bench runs it with the rest)
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { open as openLmdb } from "lmdb";
import { OnDiskTrieRawHashMap } from "../lib/index.ts";
import { dataBytes, hashBytes, keyHash, writeKeyData } from "../tests/support/trie-keys.ts";
import { compare, consume, median, type Row } from "./harness.ts";
import { GiB, removeArenaFiles, scratchPath } from "./scratch.ts";
import { loadTrieWalkFloor } from "./trie-floor.ts";

const keyCount = 1_000_000;
const trieOptions = { name: "index", hashBits: hashBytes * 8, dataBytes, capacity: GiB, rootBits: 10, subtrieBits: 6 };

export interface TrieGoal {
  goal: string;
  value: number;
  unit: string;
  met: boolean;
}

export interface TrieBenchResult {
  rows: Row[];
  processes: { processes: number; recordsPerSecond: number; ratio: number }[];
  goals: TrieGoal[];
}

/** A seeded random permutation of 0..count-1 (xorshift32; the order only has to be the same for everyone). */
function randomOrder(count: number, seed = 0x2545f491): Uint32Array {
  const order = new Uint32Array(count).map((_, index) => index);
  let state = seed;
  for (let i = count - 1; i > 0; i--) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const j = (state >>> 0) % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

function hashesOf(first: number, count: number): Uint8Array {
  const hashes = new Uint8Array(count * hashBytes);
  for (let i = 0; i < count; i++) keyHash(first + i, hashes.subarray(i * hashBytes, (i + 1) * hashBytes));
  return hashes;
}

const views = (hashes: Uint8Array, count: number) => Array.from({ length: count }, (_, i) => hashes.subarray(i * hashBytes, (i + 1) * hashBytes));

function buildPeers(keys: Buffer[]) {
  const lmdb = openLmdb({ path: scratchPath("lmdb"), keyEncoding: "binary", encoding: "binary", noSync: true });
  const value = Buffer.alloc(dataBytes);
  for (let start = 0; start < keyCount; start += 100_000) {
    lmdb.transactionSync(() => {
      for (let i = start; i < Math.min(keyCount, start + 100_000); i++) {
        value.writeUInt32LE(i, 0);
        lmdb.putSync(keys[i]!, value);
      }
    });
  }
  const sqlite = new Database(scratchPath("sqlite"));
  sqlite.run("PRAGMA journal_mode = WAL");
  sqlite.run("PRAGMA synchronous = OFF");
  sqlite.run("CREATE TABLE records (hash BLOB PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID");
  const insert = sqlite.prepare("INSERT INTO records (hash, data) VALUES (?, ?)");
  sqlite.transaction(() => {
    for (let i = 0; i < keyCount; i++) {
      value.writeUInt32LE(i, 0);
      insert.run(keys[i]!, value);
    }
  })();
  insert.finalize();
  return { lmdb, sqlite, select: sqlite.prepare<{ data: Uint8Array }, [Uint8Array]>("SELECT data FROM records WHERE hash = ?") };
}

function compareLookups(): Row[] {
  const hashes = hashesOf(0, keyCount);
  const order = randomOrder(keyCount);
  const path = scratchPath("trie");
  const map = OnDiskTrieRawHashMap.create(path, trieOptions);
  for (let i = 0; i < keyCount; i++) map.insert(hashes.subarray(i * hashBytes, (i + 1) * hashBytes), (data) => writeKeyData(data, i, 0));

  const floor = loadTrieWalkFloor(path, hashes, order);
  // The floor reads the file the library wrote: it must find every key, or it measures nothing.
  const found = floor.findMany(0, keyCount);
  if (found !== keyCount) throw new Error(`the C walk found ${found} of ${keyCount} keys: it does not read the trie's format`);

  const trieKeys = views(hashes, keyCount);
  const bufferKeys = trieKeys.map((view) => Buffer.from(view.buffer, view.byteOffset, hashBytes));
  const peers = buildPeers(bufferKeys);

  let nextNewKey = keyCount;
  let newKeys: Uint8Array[] = [];
  const fill = (data: Uint8Array) => void (data[0] = 1);
  const cursors = { floor: 0, find: 0, findOffset: 0, lmdb: 0, sqlite: 0 };
  const step = (cursor: keyof typeof cursors, ops: number) => {
    const first = cursors[cursor];
    cursors[cursor] = (first + ops) % keyCount;
    return first;
  };

  const rows = compare(
    "trie, 1 M keys of 32 B, random order",
    [
      {
        name: "floor: the same walk in C (gcc -O2), no checks",
        run(ops) {
          consume(floor.findMany(step("floor", ops), ops));
        },
      },
      {
        name: "trie.find(hash)",
        run(ops) {
          let cursor = step("find", ops);
          let sum = 0;
          for (let i = 0; i < ops; i++) {
            sum += map.find(trieKeys[order[cursor]!]!)!.offset;
            if (++cursor === keyCount) cursor = 0;
          }
          consume(sum);
        },
      },
      {
        name: "trie.findOffset(hash)",
        run(ops) {
          let cursor = step("findOffset", ops);
          let sum = 0;
          for (let i = 0; i < ops; i++) {
            sum += map.findOffset(trieKeys[order[cursor]!]!);
            if (++cursor === keyCount) cursor = 0;
          }
          consume(sum);
        },
      },
      {
        name: "trie.insert(new hash)",
        prepare(ops) {
          newKeys = views(hashesOf(nextNewKey, ops), ops);
          nextNewKey += ops;
        },
        run(ops) {
          const keys = newKeys;
          let sum = 0;
          for (let i = 0; i < ops; i++) sum += map.insert(keys[i]!, fill).offset;
          consume(sum);
        },
      },
      {
        name: "lmdb-js getBinaryFast(hash)",
        run(ops) {
          let cursor = step("lmdb", ops);
          let sum = 0;
          for (let i = 0; i < ops; i++) {
            sum += peers.lmdb.getBinaryFast(bufferKeys[order[cursor]!]!)!.length;
            if (++cursor === keyCount) cursor = 0;
          }
          consume(sum);
        },
      },
      {
        name: "bun:sqlite SELECT by primary key",
        run(ops) {
          let cursor = step("sqlite", ops);
          let sum = 0;
          for (let i = 0; i < ops; i++) {
            sum += peers.select.get(bufferKeys[order[cursor]!]!)!.data.length;
            if (++cursor === keyCount) cursor = 0;
          }
          consume(sum);
        },
      },
    ],
    { baseline: "trie.find(hash)" },
  );
  floor.close();
  peers.select.finalize();
  peers.sqlite.close();
  peers.lmdb.close();
  map.close();
  removeArenaFiles(path);
  return rows;
}

/** Records each child inserts per round: about 0.3-1 s of work. */
const insertsPerChild = 400_000;

async function insertRound(processes: number): Promise<number> {
  const path = scratchPath("trie-inserters");
  OnDiskTrieRawHashMap.create(path, trieOptions).close();
  const startAt = Date.now() + 1500; // after every child has made its keys
  const children = Array.from({ length: processes }, (_, child) =>
    Bun.spawn([process.execPath, join(import.meta.dir, "children", "trie-inserter.ts"), path, String(child * insertsPerChild), String(insertsPerChild), String(startAt)], {
      stdout: "pipe",
      stderr: "pipe",
    }),
  );
  const times = await Promise.all(
    children.map(async (child) => {
      const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      if (exitCode !== 0) throw new Error(`trie inserter failed (${exitCode}): ${stderr}`);
      return JSON.parse(stdout) as { start: number; end: number };
    }),
  );
  removeArenaFiles(path);
  const elapsedMs = Math.max(...times.map((time) => time.end)) - Math.min(...times.map((time) => time.start));
  return (processes * insertsPerChild) / (elapsedMs / 1000);
}

async function compareProcesses(): Promise<TrieBenchResult["processes"]> {
  const one: number[] = [];
  const two: number[] = [];
  for (let round = 0; round < 3; round++) {
    one.push(await insertRound(1));
    two.push(await insertRound(2));
  }
  const single = median(one);
  return [
    { processes: 1, recordsPerSecond: single, ratio: 1 },
    { processes: 2, recordsPerSecond: median(two), ratio: median(two) / single },
  ];
}

export async function benchTrie(): Promise<TrieBenchResult> {
  const rows = compareLookups();
  const processes = await compareProcesses();
  const ns = (name: string) => rows.find((row) => row.name.startsWith(name))!.nsPerOp;
  const goals = [
    { goal: "trie find <= 1.5x the C walk (floor)", value: ns("trie.find") / ns("floor"), unit: "x", met: (v: number) => v <= 1.5 },
    { goal: "trie find >= 3x faster than lmdb-js get", value: ns("lmdb") / ns("trie.find"), unit: "x faster", met: (v: number) => v >= 3 },
    { goal: "trie find >= 10x faster than bun:sqlite primary-key SELECT", value: ns("bun:sqlite") / ns("trie.find"), unit: "x faster", met: (v: number) => v >= 10 },
    { goal: "trie insert of a new key <= 2x find", value: ns("trie.insert") / ns("trie.find"), unit: "x", met: (v: number) => v <= 2 },
    { goal: "trie insert: two processes >= 1.6x one", value: processes[1]!.ratio, unit: "x", met: (v: number) => v >= 1.6 },
  ].map(({ goal, value, unit, met }) => ({ goal, value, unit, met: met(value) }));
  return { rows, processes, goals };
}

/** The group's rows, process table and goals as markdown. */
export function trieTable(result: TrieBenchResult, ns: (value: number) => string): string[] {
  const lines = ["| candidate | per op (median) | min - max | vs trie.find |", "|---|--:|--:|--:|"];
  for (const row of result.rows) lines.push(`| ${row.name} | ${ns(row.nsPerOp)} | ${ns(row.minNsPerOp)} - ${ns(row.maxNsPerOp)} | ${row.ratio.toFixed(2)}x |`);
  lines.push("", "| processes inserting new keys at once | records/s (aggregate, median of 3) | vs one process |", "|---|--:|--:|");
  for (const row of result.processes) lines.push(`| ${row.processes} | ${(row.recordsPerSecond / 1e6).toFixed(2)} M | ${row.ratio.toFixed(2)}x |`);
  return lines;
}

if (import.meta.main) {
  const started = performance.now();
  const result = await benchTrie();
  const ns = (value: number) => (value >= 10_000 ? `${(value / 1000).toFixed(1)} µs` : `${value.toFixed(1)} ns`);
  const lines = [`Command: \`bun bench/trie.ts\` (${((performance.now() - started) / 1000).toFixed(0)} s)`, "", ...trieTable(result, ns), "", "| goal | measured | met |", "|---|--:|:-:|"];
  for (const goal of result.goals) lines.push(`| ${goal.goal} | ${goal.value.toFixed(2)}${goal.unit} | ${goal.met ? "yes" : "**no**"} |`);
  console.log(lines.join("\n"));
}
