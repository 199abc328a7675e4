/**
 * The error for a trie or data-allocator file whose content cannot be right:
 * ERR_ARENA_CORRUPT, saying where (the file offset, in hex as LLVM prints it) and what.
 */
import { ArenaError } from "../common/errors.ts";

export function corruptAt(path: string, offset: number, what: string): ArenaError {
  return new ArenaError("ERR_ARENA_CORRUPT", `${path}: corrupt at offset 0x${offset.toString(16)}: ${what}`, { path });
}

/**
 * ERR_ARENA_CORRUPT for an offset given to recoverFromOffset or pool.get that
 * names nothing the file handed out. The library cannot tell a made-up offset
 * from one read out of a damaged file (LLVM's API takes offsets stored
 * earlier), so the message names both rather than call the file damaged.
 */
export function notHandedOut(path: string, offset: number, what: string, why: string): ArenaError {
  return new ArenaError(
    "ERR_ARENA_CORRUPT",
    `${path}: offset 0x${offset.toString(16)} is not ${what} this file handed out (${why}): a wrong offset, or one read from a damaged file`,
    { path },
  );
}

export function headerMismatch(path: string, table: string, what: string): ArenaError {
  return new ArenaError("ERR_ARENA_HEADER_MISMATCH", `${path}[${table}]: ${what}`, { path });
}

/** n rounded up to a multiple of 8: every allocation's footprint. */
export function alignUp8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
