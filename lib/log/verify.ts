/**
 * A whole-log health report: what RecordLog.stats() returns and what the CLI's
 * `verify` and `inspect` print for a log. Each claimed block is exactly one of:
 * sealed, open (its writer is alive), abandoned (its writer died before sealing
 * it: the committed records stay readable, the rest is lost), a hole (claimed,
 * never stamped, its claimer dead), claiming (being stamped right now), corrupt.
 */
import {
  commitEnd,
  countBegunRecords,
  countRecords,
  isSealed,
  loadCommit,
  loadGeneration,
  loadOwner,
  type BlockView,
} from "./blocks.ts";
import { blockHeaderBytes, firstBlockOffset } from "./format.ts";
import type { Liveness } from "./writer-slots.ts";

/** A count of things and the bytes they take. */
export interface CountAndBytes {
  count: number;
  bytes: number;
}

export interface LogStats {
  blockSizeBytes: number;
  /** Blocks claimed so far (the arena's bump pointer over the block size). */
  blocks: number;
  /**
   * False when the arena's bump pointer is not at the end of a block (a foreign
   * allocation, or a damaged header) and the log is not full: every append then
   * fails with ERR_LOG_CORRUPT, so the log is invalid though its blocks read.
   */
  claimedEndOnGrid: boolean;
  /** Committed records and their payload bytes: what readers read. */
  committed: CountAndBytes;
  /** Blocks whose writer has finished them. */
  sealed: CountAndBytes;
  /** Blocks whose writer is alive and may add records; bytes not yet used. */
  open: CountAndBytes;
  /** Claimed blocks that no writer will ever stamp (the claimer died); bytes = whole blocks. */
  holes: CountAndBytes;
  /** Blocks being stamped by a live writer at this moment. */
  claiming: CountAndBytes;
  /**
   * Blocks whose writer died before sealing them: count, and bytes after the last
   * commit (lost). `records` counts records begun there but never committed.
   */
  abandoned: CountAndBytes & { records: number };
  /** Blocks whose header or records are impossible; skipped by readers. */
  corrupt: CountAndBytes;
  /** Unused tails of sealed blocks (a record that did not fit went to a new block). */
  slackBytes: number;
}

/** Where the verifier gets blocks from: the mapping, or pread copies (the CLI). */
export interface BlockSource {
  blockSizeBytes: number;
  /** The arena's bump pointer (at most the capacity and the file's size). */
  claimedEnd: number;
  /** The arena's capacity: past its last whole block, the log is full, whatever the pointer's alignment. */
  capacity: number;
  block(index: number): BlockView;
  liveness: Liveness;
}

export function verifyBlocks(source: BlockSource): LogStats {
  const size = source.blockSizeBytes;
  const zero = () => ({ count: 0, bytes: 0 });
  const claimed = source.claimedEnd - firstBlockOffset;
  const blockCount = Math.max(0, Math.floor(claimed / size));
  const stats: LogStats = {
    blockSizeBytes: size,
    blocks: blockCount,
    claimedEndOnGrid: claimed >= 0 && (claimed % size === 0 || source.claimedEnd + size > source.capacity),
    committed: zero(),
    sealed: zero(),
    open: zero(),
    holes: zero(),
    claiming: zero(),
    abandoned: { count: 0, bytes: 0, records: 0 },
    corrupt: zero(),
    slackBytes: 0,
  };
  const add = (into: CountAndBytes, bytes: number) => {
    into.count += 1;
    into.bytes += bytes;
  };
  for (let index = 0; index < blockCount; index++) {
    const view = source.block(index);
    const owner = loadOwner(view);
    if (owner === 0) {
      // Claimed, not stamped: being stamped, or never will be (see writer-slots.ts).
      if (source.liveness.claimInProgress(index) || loadOwner(view) !== 0) add(stats.claiming, size);
      else add(stats.holes, size);
      continue;
    }
    let commit = loadCommit(view, size);
    const alive = commit >= 0 && !isSealed(commit) && source.liveness.isAlive(owner - 1, loadGeneration(view));
    // A writer judged dead may have committed more just before it died: read again.
    if (commit >= 0 && !isSealed(commit) && !alive) commit = loadCommit(view, size);
    if (owner < 0 || commit < 0) {
      add(stats.corrupt, size);
      continue;
    }
    const end = commitEnd(commit);
    // Readers read the records before a damaged one; so are they counted.
    const counted = countRecords(view.words, blockHeaderBytes, end);
    stats.committed.count += counted.records;
    stats.committed.bytes += counted.bytes;
    if (!counted.whole) {
      add(stats.corrupt, size);
      continue;
    }
    if (isSealed(commit)) {
      add(stats.sealed, size);
      stats.slackBytes += size - end;
    } else if (alive) {
      add(stats.open, size - end);
    } else {
      add(stats.abandoned, size - end);
      stats.abandoned.records += countBegunRecords(view.words, end, size);
    }
  }
  return stats;
}
