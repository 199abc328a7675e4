/**
 * Child process of tests/trie/fuzz.test.ts: one corruption that changes what the
 * trie means, made by hand, and what validate says about it.
 *
 *   bun validate-scenario.ts DIRECTORY SCENARIO
 *
 * Builds a small trie (root 2 bits, subtries 1 bit, 300 keys: several levels),
 * closes it, corrupts the file as SCENARIO says (tests/support/trie-corruptions.ts), reopens it and
 * calls validate. Prints JSON: { threw, code, message, records }.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ArenaError, OnDiskTrieRawHashMap } from "../../../lib/index.ts";
import { dataBytes, keyHash, writeKeyData } from "../../support/trie-keys.ts";
import { meaningCorruptions } from "../../support/trie-corruptions.ts";
import { readTrieLayout } from "../../support/trie-layout.ts";

const [directory = ".", scenario = "none"] = process.argv.slice(2);
const options = { name: "index", hashBits: 256, dataBytes, capacity: 1024 * 1024, rootBits: 2, subtrieBits: 1 };
const keys = 300;

const path = join(directory, `scenario-${process.pid}.bin`);
{
  using map = OnDiskTrieRawHashMap.create(path, options);
  for (let i = 0; i < keys; i++) map.insert(keyHash(i), (data) => writeKeyData(data, i, 0));
}
const file = new Uint8Array(readFileSync(path));
const layout = readTrieLayout(file);
if (new DataView(file.buffer).getBigInt64(layout.tableAt + 16, true) !== BigInt(layout.root)) throw new Error("layout reader disagrees on the root");
const corrupt = meaningCorruptions[scenario];
if (!corrupt) throw new Error(`no scenario ${scenario}`);
corrupt(file, layout);
writeFileSync(path, file);
let result: { threw: boolean; code?: string; message?: string; records?: number };
try {
  using map = OnDiskTrieRawHashMap.create(path, options);
  result = { threw: false, records: map.validate(() => {}).records };
} catch (error) {
  if (!(error instanceof ArenaError)) throw error;
  result = { threw: true, code: error.code, message: error.message };
}
rmSync(path, { force: true });
rmSync(`${path}.shared`, { force: true });
process.stdout.write(JSON.stringify(result));
