/**
 * Child process of tests/trie/concurrency.test.ts: a reader running while the
 * writers insert.
 *
 *   bun find-keys.ts '<JSON ReaderConfig>'
 *
 * Sweeps the test's keys again and again until every writer is done. A key it has
 * once found must stay found, at the same record, with a whole stamp: a record is
 * never moved or replaced once published (a plain store over a racing writer's
 * slot would do exactly that). After the writers finish, one last sweep must find
 * every key. Prints a JSON report.
 */
import { OnDiskTrieRawHashMap } from "../../../lib/index.ts";
import { arriveAndWaitForGo, counter, openControl } from "../../support/shared-counters.ts";
import { keyDataWriter, keyHash } from "../../support/trie-keys.ts";
import type { TrieTestOptions } from "../../support/trie-check.ts";

export interface ReaderConfig {
  trie: string;
  control: string;
  options: TrieTestOptions;
  writers: number;
  unionFirst: number;
  unionKeys: number;
}

export interface ReaderReport {
  sweeps: number;
  /** Finds that returned a record while the writers were still at work. */
  foundWhileWriting: number;
  problemCount: number;
  problems: string[];
}

const config = JSON.parse(process.argv[2]!) as ReaderConfig;
const { words } = openControl(config.control);
const map = OnDiskTrieRawHashMap.create(config.trie, config.options);
arriveAndWaitForGo(words);

const seen = new Float64Array(config.unionKeys); // 0: not seen yet (no record is at offset 0)
const hash = new Uint8Array(32);
const problems: string[] = [];
let foundWhileWriting = 0;

function sweep(final: boolean): void {
  for (let n = 0; n < config.unionKeys; n++) {
    const key = config.unionFirst + n;
    const found = map.find(keyHash(key, hash));
    if (!found) {
      if (final || seen[n] !== 0) problems.push(`key ${key} ${final ? "not found after the writers finished" : `vanished (was at ${seen[n]})`}`);
      continue;
    }
    if (!final) foundWhileWriting++;
    if (keyDataWriter(found.data, key) < 0) problems.push(`key ${key}: data no initializer wrote for it`);
    if (seen[n] !== 0 && seen[n] !== found.offset) problems.push(`key ${key} moved from record ${seen[n]} to ${found.offset}`);
    seen[n] = found.offset;
  }
}

let sweeps = 0;
const sweepLimit = 1000; // a bound; the writers end long before
while (Atomics.load(words, counter.writersDone) < BigInt(config.writers) && sweeps < sweepLimit) {
  sweep(false);
  sweeps++;
}
sweep(true);
const report: ReaderReport = { sweeps, foundWhileWriting, problemCount: problems.length, problems: problems.slice(0, 10) };
process.stdout.write(JSON.stringify(report));
map.close();
