/**
 * A record log seen from outside, for `mapped-file-arena inspect` and `verify`:
 * the log's header and the same health report as RecordLog.stats(), read with
 * pread from a read-only descriptor. Nothing is mapped, locked or written: writer
 * liveness comes from lock queries (F_OFD_GETLK), which take no lock.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { decodeHeader } from "../arena/header.ts";
import { openRegularFileToRead } from "../arena/regular-file.ts";
import { atomicWordLoads } from "../arena/word-loads.ts";
import type { BlockView } from "./blocks.ts";
import { arenaHeaderOffset, decodeLogHeader, firstBlockOffset, logHeaderBytes, logHeaderProblem, logMagic, type LogHeader } from "./format.ts";
import { verifyBlocks, type LogStats } from "./verify.ts";
import { slotLiveness } from "./writer-slots.ts";

export interface LogFileInspection {
  header: LogHeader;
  /** Why this is not a log this code reads or appends to, if it is not (stats may still be there). */
  problem: string | undefined;
  /** The health report, when the header is readable. */
  stats: LogStats | undefined;
}

/** True when the file starts with the record log's magic. */
export function isRecordLogFile(path: string): boolean {
  const fd = openRegularFileToRead(path);
  if (fd === undefined) return false;
  try {
    const start = new Uint8Array(8);
    return readSync(fd, start, 0, 8, 0) === 8 && String.fromCharCode(...start) === logMagic;
  } finally {
    closeSync(fd);
  }
}

/** Reads the log header and every claimed block of the log at `path`. */
export function inspectLogFile(path: string): LogFileInspection {
  const fd = openSync(path, "r");
  try {
    const headerBytes = new Uint8Array(logHeaderBytes + 32);
    readSync(fd, headerBytes, 0, headerBytes.length, 0);
    const header = decodeLogHeader(headerBytes);
    const problem = logHeaderProblem(header);
    if (problem !== undefined) return { header, problem, stats: undefined };
    const arena = decodeHeader(headerBytes.subarray(arenaHeaderOffset));
    const fileSize = fstatSync(fd).size;
    const claimedEnd = Math.min(Number(arena.bumpPtr), Number(arena.capacity), fileSize);
    const blockSize = header.blockSizeBytes;
    const buffer = new Uint8Array(blockSize);
    const view: BlockView = { start: 0, bytes: buffer, words: new Int32Array(buffer.buffer), loads: atomicWordLoads };
    const slotWords = new Int32Array(headerBytes.buffer, 0, logHeaderBytes / 4);
    const stats = verifyBlocks({
      blockSizeBytes: blockSize,
      claimedEnd,
      capacity: Number(arena.capacity),
      block(index) {
        view.start = firstBlockOffset + index * blockSize;
        buffer.fill(0, readSync(fd, buffer, 0, blockSize, view.start));
        return view;
      },
      liveness: slotLiveness(fd, path, slotWords, () => -1, atomicWordLoads),
    });
    return { header, problem: offGridProblem(stats, claimedEnd), stats };
  } finally {
    closeSync(fd);
  }
}

/** A bump pointer off the block grid makes every append fail: the log is invalid. */
export function offGridProblem(stats: LogStats, claimedEnd: number): string | undefined {
  if (stats.claimedEndOnGrid) return undefined;
  return `its arena's bump pointer ${claimedEnd} is not at the end of a block (block 0 at ${firstBlockOffset}, ${stats.blockSizeBytes} bytes each): every append is refused with ERR_LOG_CORRUPT`;
}
