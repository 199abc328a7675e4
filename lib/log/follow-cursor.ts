/**
 * The follower's bookkeeping: which blocks it has finished, and where it stands in
 * each block that is still being written.
 *
 * Records cannot be followed strictly in file order: block A (writer 1) can sit
 * unfinished before block B (writer 2) for as long as writer 1 is alive and idle,
 * and B's records must still be seen as soon as they are committed. So the cursor
 * keeps a short list of unfinished ("pending") blocks, in file order, and each
 * poll reads whatever is newly committed in each of them. A block leaves the list
 * when it is sealed and read, when its writer is known dead (its committed records
 * are read first: nothing committed is lost), when it is a hole, or when it is
 * corrupt. The list is bounded: at most one open block per live writer can stay
 * in it, and it holds at most maxPending stamped blocks. Unstamped blocks do not
 * count against that bound: each waits only for its own claimer (a live writer
 * stopped while claiming it), and stamped blocks after any number of them still
 * enter the list, so nobody's records wait behind them.
 *
 * One writer's records come out in the order it appended them, because each poll
 * reads its pending blocks in file order and only blocks claimed before the poll
 * began (it loads the bump pointer first). If block B of writer W is read in this
 * poll, W claimed B before the poll began; W sealed its earlier block A before it
 * claimed B; A comes before B in the list, so this poll reads A after the seal and
 * to its end before it reads anything of B.
 */
import {
  commitEnd,
  isSealed,
  loadCommit,
  loadGeneration,
  loadOwner,
  recordLengthAt,
  type BlockView,
} from "./blocks.ts";
import { blockHeaderBytes, recordHeaderBytes, slotCount } from "./format.ts";
import type { Liveness } from "./writer-slots.ts";

/** One record: where it is in the file and its bytes (see RecordLog.records for the view's lifetime). */
export interface LogRecord {
  /** File offset of the record: stable, the same in every process. */
  position: number;
  bytes: Uint8Array;
}

/** What the cursor reads through: the open log. */
export interface CursorSource {
  blockSizeBytes: number;
  firstBlockOffset: number;
  /** Blocks claimed so far; the cursor only looks at blocks below it. */
  claimedBlocks(): number;
  block(index: number): BlockView;
  liveness: Liveness;
}

interface PendingBlock {
  view: BlockView;
  index: number;
  /** Next unread offset inside the block. */
  readAt: number;
  /** Records at positions below this are skipped (follow's fromPosition). */
  skipBelow: number;
  /** Slot + 1 of the owner once seen; 0 before. */
  owner: number;
  generation: number;
  done: boolean;
}

/** Enough for every live writer's open block and the one it sealed, plus slack. */
const maxPending = 2 * slotCount + 8;

export class FollowCursor {
  readonly #source: CursorSource;
  #nextBlock: number;
  readonly #skipBelow: number;
  #pending: PendingBlock[] = [];
  /** Pending blocks seen stamped: the ones maxPending bounds. */
  #stamped = 0;

  constructor(source: CursorSource, fromPosition: number) {
    this.#source = source;
    const from = Math.max(fromPosition, source.firstBlockOffset);
    this.#nextBlock = Math.floor((from - source.firstBlockOffset) / source.blockSizeBytes);
    this.#skipBelow = from;
  }

  /**
   * Appends every record committed since the last poll to `out`. With `probe`,
   * also asks the kernel whether writers of stalled blocks are alive (a system
   * call each), which is how holes and dead writers' blocks are passed.
   */
  poll(out: LogRecord[], probe: boolean): void {
    const source = this.#source;
    const claimed = source.claimedBlocks();
    while (this.#nextBlock < claimed && this.#stamped < maxPending) {
      const index = this.#nextBlock;
      this.#nextBlock += 1;
      const block: PendingBlock = { view: source.block(index), index, readAt: blockHeaderBytes, skipBelow: this.#skipBelow, owner: 0, generation: 0, done: false };
      this.#pending.push(block);
      // Read in the loop below, in file order with the others; stamped ones count now.
      this.#noteOwner(block);
    }
    const pending = this.#pending;
    let finished = 0;
    for (let index = 0; index < pending.length; index++) {
      const block = pending[index]!;
      if (!block.done) this.#advance(block, out, probe);
      if (block.done) finished += 1;
    }
    if (finished > 0) {
      this.#pending = pending.filter((block) => !block.done);
      this.#stamped = this.#pending.reduce((count, block) => count + (block.owner === 0 ? 0 : 1), 0);
    }
  }

  #advance(block: PendingBlock, out: LogRecord[], probe: boolean): void {
    const view = block.view;
    const size = this.#source.blockSizeBytes;
    if (block.owner === 0) {
      const owner = this.#noteOwner(block);
      if (owner < 0) return this.#corrupt(block);
      if (owner === 0) {
        // Claimed, not stamped. Never will be if no live writer is claiming it and
        // the stamp is still missing after looking (writer-slots.ts says why).
        if (probe && !this.#source.liveness.claimInProgress(block.index) && loadOwner(view) === 0) block.done = true;
        return;
      }
    }
    let commit = loadCommit(view, size);
    if (commit < 0) return this.#corrupt(block);
    let writerDied = false;
    if (!isSealed(commit) && commitEnd(commit) === block.readAt) {
      if (!probe || this.#source.liveness.isAlive(block.owner - 1, block.generation)) return;
      // Dead: what it committed before dying is final; read it, then let go.
      writerDied = true;
      commit = loadCommit(view, size);
      if (commit < 0) return this.#corrupt(block);
    }
    const end = commitEnd(commit);
    if (end > block.readAt && !this.#readRecords(block, end, out)) return this.#corrupt(block);
    if (isSealed(commit) || writerDied) block.done = true;
  }

  /** Loads the block's owner; once it is stamped, keeps owner and generation (stored before it). */
  #noteOwner(block: PendingBlock): number {
    const owner = loadOwner(block.view);
    if (owner > 0) {
      block.owner = owner;
      block.generation = loadGeneration(block.view);
      this.#stamped += 1;
    }
    return owner;
  }

  /** Reads records in [readAt, end); false when they do not tile it (corrupt). */
  #readRecords(block: PendingBlock, end: number, out: LogRecord[]): boolean {
    const { bytes, words, start } = block.view;
    let at = block.readAt;
    // Each record moves `at` by at least 4, so this ends within the block.
    while (at < end) {
      const length = recordLengthAt(words, at, end);
      if (length < 0) return false;
      const position = start + at;
      if (position >= block.skipBelow) {
        out.push({ position, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset + at + recordHeaderBytes, length) });
      }
      at += recordHeaderBytes + ((length + 3) & ~3);
    }
    block.readAt = at;
    return true;
  }

  /** A corrupt block is passed; stats() counts it. */
  #corrupt(block: PendingBlock): void {
    block.done = true;
  }
}
