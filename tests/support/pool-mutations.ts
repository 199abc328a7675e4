/**
 * The data pool's corruption fuzzer: from a healthy OnDiskDataAllocator file, one
 * to three mutations of the headers it trusts on open (DatabaseFile, arena, the
 * table's generic header, allocator offset and user header size; see
 * docs/design/trie.md) or of random bytes, or a truncation. The pool has no
 * structure past its headers (blocks are raw bytes the caller addresses), so the
 * headers are where a reader can go wrong.
 */
import { arenaHeader, arenaHeaderAt, databaseHeader } from "./trie-layout.ts";
import type { Mutated, Random } from "./trie-mutations.ts";

const below = (random: Random, limit: number): number => Math.floor(random() * limit);
const pick = <T>(random: Random, values: readonly T[]): T => values[Math.floor(random() * values.length)]!;

/** Field offsets in the data allocator table, and their widths in bytes. */
const tableFields = { kind: [0, 2], nameSize: [2, 2], nameOffset: [4, 4], allocatorOffset: [8, 8], userHeaderSize: [16, 8] } as const;

function garbage(random: Random, fileBytes: number): bigint {
  return pick(random, [0n, 1n, 7n, 8n, 24n, BigInt(fileBytes), BigInt(fileBytes + 8), BigInt(fileBytes - 8), 0xffffffffn, 1n << 62n, -1n, -8n, BigInt(below(random, fileBytes * 2))]);
}

function writeField(file: Uint8Array, at: number, width: number, value: bigint): void {
  const view = new DataView(file.buffer);
  if (width === 8) view.setBigUint64(at, BigInt.asUintN(64, value), true);
  else if (width === 4) view.setUint32(at, Number(BigInt.asUintN(32, value)), true);
  else view.setUint16(at, Number(BigInt.asUintN(16, value)), true);
}

export function mutatePool(healthy: Uint8Array, tableAt: number, random: Random): Mutated {
  let file: Uint8Array = healthy.slice();
  const steps: string[] = [];
  const count = 1 + below(random, 3);
  for (let i = 0; i < count; i++) {
    const kind = below(random, 6);
    if (kind === 0) {
      const at = below(random, file.length);
      file[at] = file[at]! ^ (1 + below(random, 255));
      steps.push(`flip byte ${at}`);
    } else if (kind === 1 || kind === 2) {
      const name = pick(random, Object.keys(tableFields) as (keyof typeof tableFields)[]);
      const [at, width] = tableFields[name];
      const value = garbage(random, file.length);
      writeField(file, tableAt + at, width, value);
      steps.push(`table ${name} := ${value}`);
    } else if (kind === 3) {
      const name = pick(random, ["bumpPtr", "allocatedSize", "capacity", "headerOffset"] as const);
      const value = garbage(random, file.length);
      writeField(file, arenaHeaderAt + arenaHeader[name], 8, value);
      steps.push(`arena ${name} := ${value}`);
    } else if (kind === 4) {
      const name = pick(random, ["magic", "version", "rootTableOffset"] as const);
      const value = garbage(random, file.length);
      writeField(file, databaseHeader[name], name === "rootTableOffset" ? 8 : 4, value);
      steps.push(`database ${name} := ${value}`);
    } else {
      const length = below(random, file.length);
      file = file.slice(0, length);
      steps.push(`truncate to ${length}`);
      break; // the other mutations write at offsets of the whole file
    }
  }
  return { file, steps };
}
