/**
 * This library's kinds of file, and the first bytes each is known by, in one place.
 *
 * The effect we want: an opener given a file of another of these kinds says what
 * the file is ("it is a record log"), not only what is wrong with it as its own
 * kind ("its header is at offset 4064, not at 16"), which leaves the reader to
 * work out that they passed the wrong path. The obvious way, each opener asking
 * the other layers' format modules, fails on layering: the arena, below every
 * format, cannot import the log or the trie, and the trie cannot import the log.
 * So the signatures live here, under every layer, and the format modules take
 * their magic numbers from here (one definition each). What it gives up: common
 * knows two formats' first bytes; nothing more of them (every other field is
 * judged by the format's own module).
 */

/** The record log's first 8 bytes (lib/log/format.ts). */
export const recordLogMagic = "MFALOG01";

/** The first u32 (little-endian) of an LLVM database file, a trie's or a data pool's (lib/trie/database-file.ts). */
export const databaseMagic = 0xda7aba53;
/** Where a database file keeps the offset (i64) of its table, whose first u16 is the table's kind. */
const rootTableOffsetAt = 8;

/** A database file's table kinds, named as messages name them. */
export const databaseTableKindNames: Readonly<Record<number, string>> = {
  1: "a trie (OnDiskTrieRawHashMap)",
  2: "a data allocator (OnDiskDataAllocator)",
};

/**
 * What `start`, the first bytes of a file (as many as the caller read), says the
 * file is, as a phrase for a message ("a record log (RecordLog)"), or undefined
 * when it is none of this library's kinds that announce themselves. Reads only
 * inside `start`: a stored offset pointing past it leaves the table's kind unnamed.
 */
export function describeFileKind(start: Uint8Array): string | undefined {
  if (String.fromCharCode(...start.subarray(0, recordLogMagic.length)) === recordLogMagic) return "a record log (RecordLog)";
  if (start.length < 4) return undefined;
  const view = new DataView(start.buffer, start.byteOffset, start.byteLength);
  if (view.getUint32(0, true) !== databaseMagic) return undefined;
  const tableOffset = start.length >= rootTableOffsetAt + 8 ? view.getBigUint64(rootTableOffsetAt, true) : 0n;
  const kindName = tableOffset > 0n && tableOffset + 2n <= BigInt(start.length) ? databaseTableKindNames[view.getUint16(Number(tableOffset), true)] : undefined;
  return kindName === undefined ? "an LLVM database file (a trie's or a data allocator's)" : `an LLVM database file holding ${kindName}`;
}
