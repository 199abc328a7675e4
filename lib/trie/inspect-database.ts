/**
 * Reading a database file from outside, for `mapped-file-arena inspect` / `verify`:
 * which table it holds, its shape, and (for a trie) a full validate().
 *
 * Like the rest of inspect, nothing is mapped or written: the file is read with
 * pread, up to its bump pointer, into memory (at most 2 GiB, the format's limit
 * here), and judged and walked there with the same checks the library uses. A
 * file that a process is writing to can be read mid-insert; the walk then sees a
 * snapshot that may be torn, and a failure says so only as "invalid" (the CLI
 * prints whether the file is open).
 */
import { closeSync, fstatSync, readSync } from "node:fs";
import { openRegularFile, openRegularFileToRead } from "../arena/regular-file.ts";
import { atomicWordLoads } from "../arena/word-loads.ts";
import { ArenaError } from "../common/errors.ts";
import { alignUp8, corruptAt } from "./corruption.ts";
import { readDataAllocatorHeader } from "./data-allocator.ts";
import { databaseMagic, firstAllocationOffset, judgeDatabase, maxDatabaseCapacity, TableKind, tableName, type MappingViews } from "./database-file.ts";
import { maxSubtrieBits } from "./hash-index.ts";
import { flagsAt, hashBitsAt, readTrieTableHeader, subtrieBitsAt, TrieLayout } from "./trie-layout.ts";
import { walkTrie, type TrieValidation } from "./trie-walk.ts";

export interface DatabaseInspection {
  version: number;
  table: { offset: number; kind: number; kindName: string; name: string };
  trie?: { hashBits: number; dataBytes: number; subtrieBits: number; rootBits: number; rootOffset: number; validation: TrieValidation };
  dataAllocator?: { userHeaderBytes: number; dataBytes: number };
  /** "valid", or why not (an ArenaError's code and message). */
  check: { status: "valid" } | { status: "invalid"; code: string; reason: string };
}

/**
 * True if `path` is a regular file that starts with the DatabaseFile magic and can
 * hold the headers. Anything unreadable is "no": the arena inspection reports it.
 */
export function looksLikeDatabaseFile(path: string): boolean {
  // Not openSync(path, "r"): on a FIFO that blocks forever (regular-file.ts).
  const fd = openRegularFileToRead(path);
  if (fd === undefined) return false;
  try {
    const status = fstatSync(fd);
    if (status.size < firstAllocationOffset) return false;
    const head = new Uint8Array(4);
    return readSync(fd, head, 0, 4, 0) === 4 && new DataView(head.buffer).getUint32(0, true) === databaseMagic;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads the database file at `path` whose arena header (already judged valid)
 * has bump pointer `bumpPointer`, and judges its table. Never throws for what the
 * file holds: that is `check`.
 */
export function inspectDatabaseFile(path: string, bumpPointer: number): DatabaseInspection {
  const inspection: DatabaseInspection = {
    version: 0,
    table: { offset: 0, kind: 0, kindName: "none", name: "" },
    check: { status: "valid" },
  };
  try {
    const views = readFile(path, bumpPointer);
    const size = views.bytes.length;
    inspection.version = views.view.getUint32(4, true);
    const table = judgeDatabase(views, size, path);
    inspection.table = { offset: table.offset, kind: table.kind, kindName: kindName(table.kind), name: tableName(views, table) };
    if (table.kind === TableKind.trieRawHashMap) {
      const { hashBits, dataBytes, subtrieBits, flags } = readTrieTableHeader(views, table, size, path);
      if (hashBits === 0 || hashBits % 8 !== 0) throw corruptAt(path, table.offset + hashBitsAt, `hash bits ${hashBits} is not a positive multiple of 8`);
      if (subtrieBits < 1 || subtrieBits > maxSubtrieBits) throw corruptAt(path, table.offset + subtrieBitsAt, `subtrie bits ${subtrieBits}`);
      if (flags !== 0) throw corruptAt(path, table.offset + flagsAt, `unsupported flags ${flags}`);
      const layout = new TrieLayout(path, () => size, views, table, { hashBits, dataBytes, subtrieBits });
      const root = layout.storedRoot();
      if (root !== 0) layout.adoptRoot(root);
      const validation = walkTrie(layout, { strict: true, onRecord: undefined });
      inspection.trie = { hashBits, dataBytes, subtrieBits, rootBits: layout.rootBits, rootOffset: root, validation };
    } else if (table.kind === TableKind.dataAllocator) {
      const userHeaderBytes = readDataAllocatorHeader(views, table, size, path);
      inspection.dataAllocator = { userHeaderBytes, dataBytes: size - table.end };
    } else {
      throw corruptAt(path, table.offset, `unknown table kind ${table.kind}`);
    }
  } catch (error) {
    if (!(error instanceof ArenaError)) throw error;
    inspection.check = { status: "invalid", code: error.code, reason: error.message.startsWith(`${path}`) ? error.message.slice(path.length).replace(/^[:\s]+/, "") : error.message };
  }
  return inspection;
}

function kindName(kind: number): string {
  if (kind === TableKind.trieRawHashMap) return "OnDiskTrieRawHashMap";
  if (kind === TableKind.dataAllocator) return "OnDiskDataAllocator";
  return `unknown (${kind})`;
}

/** The file's first `bumpPointer` bytes (fewer if the file is shorter), with the views the judges read. */
function readFile(path: string, bumpPointer: number): MappingViews {
  const fd = openRegularFile(path, "read"); // it may have become a FIFO since it was judged
  try {
    const length = Math.min(bumpPointer, fstatSync(fd).size, maxDatabaseCapacity);
    const buffer = new ArrayBuffer(alignUp8(length));
    const bytes = new Uint8Array(buffer, 0, length);
    const chunkBytes = 64 * 1024 * 1024;
    // Each read makes progress or ends the loop: at most length / 1 iterations, in practice length / chunk.
    for (let done = 0; done < length; ) {
      const read = readSync(fd, bytes, done, Math.min(chunkBytes, length - done), done);
      if (read <= 0) throw corruptAt(path, done, `the file ends at ${done}, before its bump pointer ${bumpPointer}`);
      done += read;
    }
    return { bytes, view: new DataView(buffer, 0, length), int32: new Int32Array(buffer), int64: new BigInt64Array(buffer), loads: atomicWordLoads };
  } finally {
    closeSync(fd);
  }
}
