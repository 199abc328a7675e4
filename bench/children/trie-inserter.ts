/**
 * Child process for bench/trie.ts: inserts new keys into a shared trie.
 *
 *   bun trie-inserter.ts PATH FIRST_KEY COUNT START_AT_MS
 *
 * Makes the hashes of keys FIRST_KEY .. FIRST_KEY + COUNT - 1 (untimed), warms
 * the JIT on a few keys of its own, waits until the wall clock reaches
 * START_AT_MS (so that several children start together), inserts them, and prints
 * its start and end times in ms and the CPU time the inserts took (µs) as JSON.
 */
import { OnDiskTrieRawHashMap } from "../../lib/index.ts";
import { dataBytes, hashBytes, keyHash } from "../../tests/support/trie-keys.ts";

const [path, firstText, countText, startText] = process.argv.slice(2);
const first = Number(firstText);
const count = Number(countText);
const startAt = Number(startText);
const map = OnDiskTrieRawHashMap.create(path!, { name: "index", hashBits: hashBytes * 8, dataBytes, capacity: 1024 ** 3, rootBits: 10, subtrieBits: 6 });
const keys = Array.from({ length: count }, (_, i) => keyHash(first + i));
const fill = (data: Uint8Array) => void (data[0] = 1);
// Warm-up keys far from every child's range.
for (let i = 0; i < 5000; i++) map.insert(keyHash(4_000_000_000 + first + i), fill);
const now = () => performance.timeOrigin + performance.now();
while (now() < startAt) {}
const start = now();
const cpuBefore = process.cpuUsage();
for (let i = 0; i < count; i++) map.insert(keys[i]!, fill);
const cpu = process.cpuUsage(cpuBefore);
const end = now();
map.close();
process.stdout.write(JSON.stringify({ start, end, cpuMicros: cpu.user + cpu.system }));
