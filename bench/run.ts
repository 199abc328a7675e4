/**
 * `bun run bench`: every benchmark of issue 4, one group after another. Prints a
 * table, writes it as JSON to bench/results/latest.json (not committed) and as
 * markdown to bench/RESULTS.md (committed), with the machine it ran on.
 */
import { cpus } from "node:os";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchAllocate } from "./allocate.ts";
import { benchAppend } from "./append.ts";
import { benchViews } from "./views.ts";
import { benchProcesses } from "./processes.ts";
import { benchOpenClose, openCloseGroups } from "./open-close.ts";
import { benchMemory } from "./memory.ts";
import { benchStore } from "./store.ts";
import { benchLog } from "./log.ts";
import { benchReadOnly } from "./read-only.ts";
import { benchTrie, trieTable } from "./trie.ts";
import { benchRemote } from "./remote.ts";
import type { Row } from "./harness.ts";

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (match) return match[1]!.trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? "unknown";
}

const startedAt = new Date();
const started = performance.now();
const machine = {
  nproc: navigator.hardwareConcurrency,
  cpu: cpuModel(),
  bun: Bun.version,
  platform: `${process.platform} ${process.arch}`,
  date: startedAt.toISOString(),
};

const log = (line: string) => process.stderr.write(`${line}\n`);
log("allocate 8 B ...");
const rows: Row[] = [...benchAllocate()];
log("views ...");
rows.push(...benchViews());
log("append 64 B ...");
rows.push(...benchAppend());
log("read-only ...");
rows.push(...benchReadOnly());
log("create + close ...");
rows.push(...benchOpenClose());
log("two processes ...");
const processes = await benchProcesses();
log("memory ...");
const memory = await benchMemory();
log("content store (issue 11) ...");
const store = await benchStore(log);
rows.push(...store.rows);
log("record log ...");
const recordLog = await benchLog();
rows.push(...recordLog.rows);
log("trie (1 M keys) ...");
const trie = await benchTrie();
log("remote cache through nginx (issue 14) ...");
const remote = await benchRemote();
rows.push(...remote.rows);
const seconds = (performance.now() - started) / 1000;

const find = (name: string, group?: string) => rows.find((row) => row.name === name && (group === undefined || row.group === group))!;
const ratioOf = (slower: string, faster: string) => find(slower).nsPerOp / find(faster).nsPerOp;
const processRatio = (mode: string) => processes.find((row) => row.mode === mode && row.processes === 2)!.ratio;
const goals = [
  { goal: "allocateOffset(8) <= 1.25x the floor (Atomics.add, result dropped)", value: find("arena.allocateOffset(8)").ratio, met: (v: number) => v <= 1.25, unit: "x" },
  { goal: "append 64 B >= 20x faster than O_APPEND writeSync", value: ratioOf("fs.writeSync, O_APPEND", "arena.append(64 B)"), met: (v: number) => v >= 20, unit: "x faster" },
  { goal: "append 64 B >= 5x faster than sqlite WAL (1000 rows/txn)", value: ratioOf("bun:sqlite WAL insert, 1000 rows/txn", "arena.append(64 B)"), met: (v: number) => v >= 5, unit: "x faster" },
  { goal: "allocate(64) within 3x of allocateOffset(64)", value: find("arena.allocate(64)").ratio, met: (v: number) => v <= 3, unit: "x" },
  { goal: "bytes(offset, 64) within 3x of allocateOffset(64)", value: find("arena.bytes(offset, 64)").ratio, met: (v: number) => v <= 3, unit: "x" },
  { goal: "block allocator >= 5x faster per allocation than allocateOffset", value: ratioOf("arena.allocateOffset(8)", "blockAllocator(64 KiB).allocateOffset(8)"), met: (v: number) => v >= 5, unit: "x faster" },
  { goal: "create+close, another instance holds it: <= 1.2x LLVM's system calls in C (CPU time)", value: find("MappedFileRegionArena.create + close", openCloseGroups.held).ratio, met: (v: number) => v <= 1.2, unit: "x" },
  { goal: "create+close, only user: <= 1.3x LLVM's system calls in C (CPU time)", value: find("MappedFileRegionArena.create + close", openCloseGroups.alone).ratio, met: (v: number) => v <= 1.3, unit: "x" },
  { goal: "block allocator: two processes >= 1.6x one (append 64 B)", value: processRatio("block"), met: (v: number) => v >= 1.6, unit: "x" },
  { goal: "block allocator: two processes >= 1.6x one (allocateOffset only)", value: processRatio("block-offsets"), met: (v: number) => v >= 1.6, unit: "x" },
].map(({ goal, value, met, unit }) => ({ goal, value, unit, met: met(value) }));
goals.push(...store.goals);
goals.push(...recordLog.goals);
goals.push(...trie.goals);
goals.push(...remote.goals);

const MiB = 1024 * 1024;
const ns = (value: number) => (value >= 10_000 ? `${(value / 1000).toFixed(1)} µs` : `${value.toFixed(1)} ns`);
const lines: string[] = [];
lines.push(`Command: \`bun run bench\` (${seconds.toFixed(0)} s)`);
lines.push(`Machine: ${machine.nproc} CPUs (\`nproc\`), ${machine.cpu}, ${machine.platform}, Bun ${machine.bun}, ${machine.date}`);
lines.push("");
lines.push("Medians of interleaved rounds; ratio is against the group's baseline, the row at 1.00x (for allocate 8 B the bare Atomics.add, for append 64 B arena.append, for log 64 B records one fs.writeSync per record, for create+close the system calls LLVM makes, in C). create+close is CPU time (user + system, every thread), since its baseline runs in another process, and so is every group whose name says 'CPU time'; the rest is wall time.");
lines.push("");
lines.push("| group | candidate | per op (median) | min - max | ratio |");
lines.push("|---|---|--:|--:|--:|");
for (const row of rows) {
  lines.push(`| ${row.group} | ${row.name} | ${ns(row.nsPerOp)} | ${ns(row.minNsPerOp)} - ${ns(row.maxNsPerOp)} | ${row.ratio.toFixed(2)}x |`);
}
lines.push("");
lines.push("| processes appending at once | mode | records/s (aggregate, median of 3) | vs one process |");
lines.push("|---|---|--:|--:|");
for (const row of processes) {
  lines.push(`| ${row.processes} | ${row.mode} | ${(row.recordsPerSecond / 1e6).toFixed(2)} M | ${row.ratio.toFixed(2)}x |`);
}
lines.push("");
lines.push("| 64 GiB-capacity arena after 1 MiB of appends | |");
lines.push("|---|--:|");
lines.push(`| RSS growth (whole process: arena pages, native library, JIT) | ${((memory.rssAfter - memory.rssBefore) / MiB).toFixed(1)} MiB |`);
if (memory.rssFileAfter > 0) lines.push(`| file-backed RSS growth (arena pages, native library) | ${((memory.rssFileAfter - memory.rssFileBefore) / MiB).toFixed(1)} MiB |`);
lines.push(`| file size / disk while open | ${(memory.fileBytesOpen / MiB).toFixed(0)} MiB / ${(memory.diskBytesOpen / MiB).toFixed(2)} MiB |`);
lines.push(`| file size / disk after the last close | ${(memory.fileBytesClosed / MiB).toFixed(2)} MiB / ${(memory.diskBytesClosed / MiB).toFixed(2)} MiB |`);
lines.push(...recordLog.lines);
lines.push("");
lines.push("OnDiskTrieRawHashMap (bench/trie.ts): 1 M keys of 32 B, 8-byte data, looked up in one random order.");
lines.push("");
lines.push(...trieTable(trie, ns));
lines.push("");
lines.push("| content store: put (one pass; every peer hashes with SHA-256) | blob | per put | disk bytes per logical byte |");
lines.push("|---|---|--:|--:|");
for (const put of store.puts) lines.push(`| ${put.peer} | ${put.size} | ${ns(put.nsPerOp)} | ${put.diskPerLogical.toFixed(2)} |`);
lines.push(`| verifyOnRead (get of 1 MiB with and without) | | ${store.verifyNsPerByte.toFixed(2)} ns per byte | |`);
lines.push("");
lines.push("| goal | measured | met |");
lines.push("|---|--:|:-:|");
for (const goal of goals) lines.push(`| ${goal.goal} | ${goal.value.toFixed(2)}${goal.unit} | ${goal.met ? "yes" : "**no**"} |`);
const table = lines.join("\n");

console.log(table);
const resultsDirectory = join(import.meta.dir, "results");
mkdirSync(resultsDirectory, { recursive: true });
writeFileSync(join(resultsDirectory, "latest.json"), `${JSON.stringify({ machine, seconds, rows, processes, memory, recordLog, trie, store, remote, goals }, null, 2)}\n`);
writeFileSync(join(import.meta.dir, "RESULTS.md"), `# Benchmark results\n\nWritten by \`bun run bench\` (bench/run.ts); each group's file in bench/ says what its rows measure.\n\n${table}\n`);

// docs/performance.md shows the latest table too, between these markers, so it cannot go stale.
const performancePath = join(import.meta.dir, "..", "docs", "performance.md");
const start = "<!-- bench-results:start -->";
const end = "<!-- bench-results:end -->";
const performancePage = readFileSync(performancePath, "utf8");
const from = performancePage.indexOf(start);
const to = performancePage.indexOf(end);
if (from !== -1 && to > from) {
  writeFileSync(performancePath, `${performancePage.slice(0, from + start.length)}\n${table}\n${performancePage.slice(to)}`);
} else {
  console.error(`${performancePath}: the ${start} and ${end} markers are missing; its table was not updated`);
}
