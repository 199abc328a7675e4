/**
 * The error for a trie or data-allocator file whose content cannot be right:
 * ERR_ARENA_CORRUPT, saying where (the file offset, in hex as LLVM prints it) and what.
 */
import { ArenaError } from "../common/errors.ts";

export function corruptAt(path: string, offset: number, what: string): ArenaError {
  return new ArenaError("ERR_ARENA_CORRUPT", `${path}: corrupt at offset 0x${offset.toString(16)}: ${what}`, { path });
}

export function headerMismatch(path: string, table: string, what: string): ArenaError {
  return new ArenaError("ERR_ARENA_HEADER_MISMATCH", `${path}[${table}]: ${what}`, { path });
}

/** n rounded up to a multiple of 8: every allocation's footprint. */
export function alignUp8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
