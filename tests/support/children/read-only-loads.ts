/**
 * argv: directory, variant ("real" or "atomic-loads": read-only-testing.ts), rounds.
 *
 * For each of the arena, the trie and the log, in this one process: a writer (a
 * shared mapping) and a read-only opener of the same file. The reader reads
 * everything `rounds` times, so that the JIT compiles its loads (the test runs us
 * with BUN_JSC_useConcurrentJIT=0: a function is compiled when it reaches its
 * threshold, not whenever a compiler thread gets to it); then the writer adds as
 * much again, and the reader reads once more. A load that writes (JavaScriptCore's
 * Atomics.load: lib/arena/word-loads.ts) copies the private page it loads from,
 * and the reader then misses the writer's later stores to that page.
 *
 * Prints one JSON object: per layer, whether the reader's rounds read what they
 * should (readBefore), what it saw after the writer's second batch against what
 * it should (saw, expected), and copiedKb, the kB of the file's
 * mappings in this process that are private copies ("Anonymous" in
 * /proc/self/smaps; the writer's shared mapping never has any).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MappedFileRegionArena, OnDiskTrieRawHashMap, RecordLog } from "../../../lib/index.ts";
import { useBrokenReadOnlyOpenForTests } from "../../../lib/arena/read-only-testing.ts";

const [directory, variant, roundsText] = process.argv.slice(2) as [string, string, string];
const rounds = Number(roundsText);
if (variant === "atomic-loads") useBrokenReadOnlyOpenForTests("atomic-loads");
else if (variant !== "real") throw new Error(`unknown variant ${variant}`);

/** kB of `path`'s mappings in this process that are private copies of its pages. */
function copiedKb(path: string): number {
  let total = 0;
  for (const mapping of readFileSync("/proc/self/smaps", "utf8").split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    if (!mapping.split("\n", 1)[0]!.endsWith(` ${path}`)) continue;
    total += Number(/^Anonymous:\s+(\d+) kB$/m.exec(mapping)?.[1] ?? 0);
  }
  return total;
}

function arenaCase() {
  const path = join(directory, "arena");
  using writer = MappedFileRegionArena.create(path, { capacity: 1 << 20 });
  writer.allocate(64);
  using reader = MappedFileRegionArena.openReadOnly(path);
  let sum = 0;
  for (let round = 0; round < rounds * 100; round++) sum += reader.size;
  writer.allocate(4096);
  return { saw: reader.size, expected: writer.size, copiedKb: copiedKb(path), readBefore: sum === rounds * 100 * 96 };
}

function trieCase() {
  const path = join(directory, "trie");
  const keys = 200;
  const hashOf = (i: number) => new Uint8Array(createHash("sha256").update(`key ${i}`).digest());
  const options = { name: "loads", hashBits: 256, dataBytes: 8 };
  using writer = OnDiskTrieRawHashMap.create(path, { ...options, capacity: 4 << 20 });
  for (let i = 0; i < keys; i++) writer.insert(hashOf(i));
  using reader = OnDiskTrieRawHashMap.openReadOnly(path, options);
  const hashes = Array.from({ length: 2 * keys }, (_, i) => hashOf(i));
  let found = 0;
  for (let round = 0; round < rounds; round++) for (let i = 0; i < keys; i++) if (reader.find(hashes[i]!) !== null) found++;
  for (let i = keys; i < 2 * keys; i++) writer.insert(hashes[i]!);
  const saw = hashes.filter((hash) => reader.find(hash) !== null).length;
  return { saw, expected: 2 * keys, copiedKb: copiedKb(path), readBefore: found === rounds * keys };
}

function logCase() {
  const path = join(directory, "log");
  const batch = 100;
  const record = new TextEncoder().encode("a record of the log");
  using writer = RecordLog.open(path, { capacity: 1 << 20, blockSize: 4096 });
  for (let i = 0; i < batch; i++) writer.append(record);
  using reader = RecordLog.openReadOnly(path);
  let counted = 0;
  for (let round = 0; round < rounds; round++) reader.forEachRecord(() => void counted++);
  for (let i = 0; i < batch; i++) writer.append(record);
  let saw = 0;
  reader.forEachRecord(() => void saw++);
  return { saw, expected: 2 * batch, copiedKb: copiedKb(path), readBefore: counted === rounds * batch };
}

process.stdout.write(`${JSON.stringify({ arch: process.arch, arena: arenaCase(), trie: trieCase(), log: logCase() })}\n`);
