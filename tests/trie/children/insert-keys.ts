/**
 * Child process of tests/trie/concurrency.test.ts and crash.test.ts: a writer.
 *
 *   bun insert-keys.ts '<JSON WriterConfig>'
 *
 * Opens the control arena and the trie, waits for the parent's go, then inserts
 * `leadingKeys` (if any), then keys firstKey .. firstKey + keys - 1, in order. Its initializer stamps the data
 * with (key, writer) (tests/support/trie-keys.ts). After each insert returns it
 * acknowledges the key in its progress counter: the crash test's promise is that
 * every acknowledged key survives a SIGKILL.
 *
 * rendezvousRounds > 0: the initializers of the first keys meet at a rendezvous
 * (tests/support/shared-counters.ts), so every writer publishes its record into
 * the same empty slot at once: the race that compare-and-swap must settle.
 * broken: slot publication is a plain store (lib/trie/testing.ts), the variant
 * the tests must catch.
 *
 * When done (and not killed) it waits for the other writers, then looks up every
 * key of the whole test (`unionFirst`, `unionKeys`): each must be found, carry a
 * whole stamp, and its own keys must be where its insert said. It writes the
 * offsets its inserts returned to `<trie>.offsets-<writer>` (Float64Array) and
 * prints a JSON report.
 */
import { writeFileSync } from "node:fs";
import { OnDiskTrieRawHashMap } from "../../../lib/index.ts";
import { useBrokenSlotPublishForTests } from "../../../lib/trie/testing.ts";
import { arriveAndWaitForGo, counter, openControl, rendezvous, waitFor } from "../../support/shared-counters.ts";
import { keyDataWriter, keyHash, writeKeyData } from "../../support/trie-keys.ts";
import type { TrieTestOptions } from "../../support/trie-check.ts";

export interface WriterConfig {
  trie: string;
  control: string;
  options: TrieTestOptions;
  writer: number;
  writers: number;
  /** Inserted first, before the range: the crash test's chosen colliding keys. */
  leadingKeys: number[];
  firstKey: number;
  keys: number;
  /** The range is visited from index `rotation` on, wrapping around: see concurrency.test.ts. */
  rotation: number;
  unionFirst: number;
  unionKeys: number;
  rendezvousRounds: number;
  broken: boolean;
  /** The crash test's writers are killed: they never reach the checks. */
  checkAtEnd: boolean;
}

export interface WriterReport {
  writer: number;
  initializersRun: number;
  problemCount: number;
  problems: string[];
}

const config = JSON.parse(process.argv[2]!) as WriterConfig;
const { words } = openControl(config.control);
if (config.broken) useBrokenSlotPublishForTests("plain-store");
const map = OnDiskTrieRawHashMap.create(config.trie, config.options);
arriveAndWaitForGo(words);

const leading = config.leadingKeys.length;
const offsets = new Float64Array(config.keys);
const hash = new Uint8Array(32);
const progress = counter.progressBase + config.writer;
let initializersRun = 0;
for (let n = 0; n < leading + config.keys; n++) {
  const index = n < leading ? -1 : (n - leading + config.rotation) % config.keys;
  const key = index < 0 ? config.leadingKeys[n]! : config.firstKey + index;
  const record = map.insert(keyHash(key, hash), (data) => {
    initializersRun++;
    writeKeyData(data, key, config.writer);
    if (n < config.rendezvousRounds) rendezvous(words, config.writers, n);
  });
  if (index >= 0) offsets[index] = record.offset;
  Atomics.store(words, progress, BigInt(n + 1));
}
Atomics.add(words, counter.writersDone, 1n);

if (config.checkAtEnd) {
  waitFor(words, counter.writersDone, BigInt(config.writers), "the other writers to finish", 300_000);
  const problems: string[] = [];
  for (let key = config.unionFirst; key < config.unionFirst + config.unionKeys; key++) {
    const found = map.find(keyHash(key, hash));
    if (!found) problems.push(`writer ${config.writer}: key ${key} not found after every writer finished`);
    else if (keyDataWriter(found.data, key) < 0) problems.push(`writer ${config.writer}: key ${key} has data that no initializer wrote for it`);
    else {
      const n = key - config.firstKey;
      if (n >= 0 && n < config.keys && found.offset !== offsets[n]) {
        problems.push(`writer ${config.writer}: insert of key ${key} returned record ${offsets[n]}, find gives ${found.offset}`);
      }
    }
  }
  writeFileSync(`${config.trie}.offsets-${config.writer}`, new Uint8Array(offsets.buffer));
  const report: WriterReport = { writer: config.writer, initializersRun, problemCount: problems.length, problems: problems.slice(0, 10) };
  process.stdout.write(JSON.stringify(report));
}
map.close();
