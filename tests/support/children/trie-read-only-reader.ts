/**
 * argv: trie path, pool path, record count, the pool's block offsets (JSON), then
 * steps run in order:
 *   open      openReadOnly on both (trie "index": 256-bit hashes, 8 data bytes; pool "data")
 *   wait      print "waiting" and wait for any line on stdin
 *   read      find every hash sha256("record <i>") for i < count and check its data
 *             (i as a little-endian u64); walk, validate; read every pool block
 *             (block i: 16 bytes of (i & 0xff))
 *   refuse    insert (a present hash and a new one) and pool allocate: record what each throws
 *   scribble  write 0xEE over the first record's data and the first block through
 *             their views: the written views keep it (private pages: the files must
 *             not change), and views asked for again read the file (finding F4)
 *   close     close both
 * Prints one JSON object last. Runs in its own process: a crash is a reported signal.
 */
import { createHash } from "node:crypto";
import { OnDiskDataAllocator, OnDiskTrieRawHashMap } from "../../../lib/index.ts";
import { errorCodeOf } from "../error-code.ts";

const [triePath, poolPath, countText, offsetsText, ...steps] = process.argv.slice(2) as [string, string, string, string, ...string[]];
const count = Number(countText);
const poolOffsets = JSON.parse(offsetsText) as number[];
const report: Record<string, unknown> = {};
let trie: OnDiskTrieRawHashMap | undefined;
let pool: OnDiskDataAllocator | undefined;

function hashOf(i: number): Uint8Array {
  return new Uint8Array(createHash("sha256").update(`record ${i}`).digest());
}

for (const step of steps) {
  if (step === "open") {
    trie = OnDiskTrieRawHashMap.openReadOnly(triePath, { name: "index", hashBits: 256, dataBytes: 8 });
    pool = OnDiskDataAllocator.openReadOnly(poolPath, { name: "data" });
    report.readOnly = [trie.readOnly, pool.readOnly];
  } else if (step === "wait") {
    process.stdout.write("waiting\n");
    for await (const _line of console) break;
  } else if (step === "read") {
    let found = 0;
    let dataRight = 0;
    // One key buffer reused for every lookup: find's quick walk (a fresh array each time takes the checked one).
    const reused = new Uint8Array(32);
    let foundThroughReused = 0;
    for (let i = 0; i < count; i++) {
      const record = trie!.find(hashOf(i));
      reused.set(hashOf(i));
      if (trie!.findOffset(reused) === (record?.offset ?? -1)) foundThroughReused++;
      if (record === null) continue;
      found++;
      if (new DataView(record.data.buffer, record.data.byteOffset, 8).getBigUint64(0, true) === BigInt(i)) dataRight++;
    }
    let blocksRight = 0;
    poolOffsets.forEach((offset, i) => {
      if (pool!.get(offset, 16).every((byte) => byte === (i & 0xff))) blocksRight++;
    });
    Object.assign(report, { found, foundThroughReused, dataRight, iterated: [...trie!].length, validated: trie!.validate().records, blocksRight });
  } else if (step === "refuse") {
    report.refused = {
      insertPresent: errorCodeOf(() => trie!.insert(hashOf(0))),
      insertNew: errorCodeOf(() => trie!.insert(hashOf(count + 1))),
      poolAllocate: errorCodeOf(() => pool!.allocate(16)),
      poolAllocateOffset: errorCodeOf(() => pool!.allocateOffset(16)),
    };
  } else if (step === "scribble") {
    const data = trie!.find(hashOf(0))!.data;
    data.fill(0xee);
    const block = pool!.get(poolOffsets[0]!, 16);
    block.fill(0xee);
    report.scribbleStaysInItsView = data.every((byte) => byte === 0xee) && block.every((byte) => byte === 0xee);
    // Record 0's data is 0 as a u64; block 0 is 16 bytes of 0.
    report.laterViewsReadTheFile = trie!.find(hashOf(0))!.data.every((byte) => byte === 0) && pool!.get(poolOffsets[0]!, 16).every((byte) => byte === 0);
  } else if (step === "close") {
    trie!.close();
    pool!.close();
  } else throw new Error(`unknown step ${step}`);
}
process.stdout.write(`${JSON.stringify(report)}\n`);
