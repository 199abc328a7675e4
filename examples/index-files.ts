/**
 * Indexes a folder's files by the SHA-256 of their content, in two files of LLVM's
 * on-disk CAS format: a trie (OnDiskTrieRawHashMap) from each SHA-256 to where
 * its content is, and a data pool (OnDiskDataAllocator) that holds each distinct
 * content once. Then it reads every file back through the index and checks it.
 *
 *   bun examples/index-files.ts                    index this repository's lib/, in a temporary folder
 *   bun examples/index-files.ts DIR --index OUT    index DIR into OUT/index.db and OUT/data.db (kept;
 *                                                  run it again and only new contents are stored)
 *
 * A trie record's 16 data bytes are [u64 pool offset, u64 size], little-endian.
 * insert() runs its initializer only for a hash the trie does not hold yet, so a
 * content is copied into the pool once however many files (or processes) share it.
 * (If two processes insert the same new hash at once, both copy it and one copy
 * is never referenced: the race LLVM's design accepts, counted in `leaks`.)
 */
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { OnDiskDataAllocator, OnDiskTrieRawHashMap } from "../lib/index.ts";

const maxFiles = 20_000;
const maxFileBytes = 16 * 1024 * 1024;

const { values, positionals } = parseArgs({ allowPositionals: true, options: { index: { type: "string" } } });
const folder = positionals[0] ?? join(import.meta.dir, "..", "lib");
const indexFolder = values.index ?? mkdtempSync(join(tmpdir(), "index-files-"));
mkdirSync(indexFolder, { recursive: true });

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

/** Regular files under `folder`, at most maxFiles of them, none larger than maxFileBytes. */
function filesUnder(folder: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(folder, { recursive: true, encoding: "utf8" })) {
    const path = join(folder, entry);
    const status = statSync(path, { throwIfNoEntry: false });
    if (status?.isFile() && status.size <= maxFileBytes) files.push(path);
    if (files.length === maxFiles) break;
  }
  return files;
}

try {
  using index = OnDiskTrieRawHashMap.create(join(indexFolder, "index.db"), { name: "files", hashBits: 256, dataBytes: 16, capacity: 256 * 1024 * 1024 });
  using pool = OnDiskDataAllocator.create(join(indexFolder, "data.db"), { name: "contents", capacity: 1024 * 1024 * 1024 });

  const files = filesUnder(folder);
  let stored = 0;
  let storedBytes = 0;
  for (const file of files) {
    const content = readFileSync(file);
    index.insert(sha256(content), (data) => {
      const block = pool.allocate(content.length);
      block.data.set(content);
      const where = new DataView(data.buffer, data.byteOffset, data.byteLength);
      where.setBigUint64(0, BigInt(block.offset), true);
      where.setBigUint64(8, BigInt(content.length), true);
      stored += 1;
      storedBytes += content.length;
    });
  }
  console.log(`${files.length} files under ${relative(process.cwd(), folder) || "."}: ${stored} new contents stored (${storedBytes} bytes), ${files.length - stored} already indexed or duplicates`);

  // Read every file back through the index, and make sure an unknown hash is absent.
  let verified = 0;
  for (const file of files) {
    const content = readFileSync(file);
    const record = index.find(sha256(content));
    if (record === null) throw new Error(`${file}: its hash is not in the index`);
    const where = new DataView(record.data.buffer, record.data.byteOffset, record.data.byteLength);
    const stored = pool.get(Number(where.getBigUint64(0, true)), Number(where.getBigUint64(8, true)));
    if (!Buffer.from(stored).equals(content)) throw new Error(`${file}: the pool holds other bytes for its hash`);
    verified += 1;
  }
  if (index.find(sha256(new TextEncoder().encode("no file holds exactly this"))) !== null) throw new Error("an unknown hash was found");
  const report = index.validate();
  console.log(`${verified}/${files.length} files read back through the index and verified; unknown hash not found`);
  console.log(`index: ${report.records} records in ${report.subtries} subtries, ${report.leakedBytes} bytes leaked; pool: ${pool.size} bytes`);
  console.log("index-files: ok");
} finally {
  if (values.index === undefined) rmSync(indexFolder, { recursive: true, force: true });
}
