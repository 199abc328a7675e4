/**
 * What RecordLog.records() returns: an iterator over the records committed now,
 * in file order. A class rather than a generator function: a generator's
 * suspend and resume cost about as much as the rest of a step (measured: ~60 ns
 * of ~200 ns per 64-byte record), and a scan should cost little more than the one
 * view it makes per record.
 */
import { commitEnd, loadCommit, loadOwner, recordLengthAt, type BlockView } from "./blocks.ts";
import type { LogRecord } from "./follow-cursor.ts";
import { blockHeaderBytes, recordHeaderBytes } from "./format.ts";

/** What the iterator reads through: the open log. */
export interface ScanSource {
  blockSizeBytes: number;
  /** Blocks claimed so far; throws ERR_ARENA_CLOSED once the log is closed. */
  claimedBlocks(): number;
  block(index: number): BlockView;
}

/**
 * What forEachRecord calls per record: the record is `block.subarray(start, end)`
 * at file offset `position`. `block` is a view of the record's whole block, valid
 * as records()' views are; return false to stop.
 */
export type RecordVisitor = (block: Uint8Array, start: number, end: number, position: number) => boolean | void;

export class RecordIterator implements IterableIterator<LogRecord> {
  readonly #source: ScanSource;
  readonly #from: number;
  #nextBlock: number;
  // The block being read: its bytes, words, file offset, next record and committed end.
  #bytes: Uint8Array = new Uint8Array(0);
  #words: Int32Array = new Int32Array(0);
  #start = 0;
  #at = 0;
  #end = 0;
  /** The length of the record #advance() last found. */
  #length = 0;

  constructor(source: ScanSource, fromPosition: number, firstBlock: number) {
    this.#source = source;
    this.#from = fromPosition;
    this.#nextBlock = firstBlock;
  }

  next(): IteratorResult<LogRecord, undefined> {
    const at = this.#advance();
    if (at < 0) return { value: undefined, done: true };
    const bytes = this.#bytes;
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset + at + recordHeaderBytes, this.#length);
    return { value: { position: this.#start + at, bytes: view }, done: false };
  }

  /**
   * Calls `visit` for every record left, with no object made per record: the
   * record is `block[start, end)`, where `block` is a view of its whole block
   * (one view per block, not per record). Stops early when `visit` returns false.
   * Returns the number of records visited.
   */
  forEach(visit: RecordVisitor): number {
    let visited = 0;
    for (;;) {
      const at = this.#advance();
      if (at < 0) return visited;
      visited += 1;
      const start = at + recordHeaderBytes;
      if (visit(this.#bytes, start, start + this.#length, this.#start + at) === false) return visited;
    }
  }

  /**
   * Moves to the next record: returns its offset in the current block (its
   * length in #length), or -1 when there is none.
   */
  #advance(): number {
    for (;;) {
      const at = this.#at;
      if (at < this.#end) {
        // Closing the log detaches the block's view (its length reads 0): then
        // claimedBlocks() throws ERR_ARENA_CLOSED, instead of a view of nothing.
        if (this.#words.length === 0) this.#source.claimedBlocks();
        const length = recordLengthAt(this.#words, at, this.#end);
        // A damaged record: the rest of the block is skipped (stats() counts it).
        if (length < 0) {
          this.#end = 0;
          continue;
        }
        this.#at = at + recordHeaderBytes + ((length + 3) & ~3);
        if (this.#start + at < this.#from) continue;
        this.#length = length;
        return at;
      }
      // Bounded: at most capacity / blockSize blocks, each read once.
      if (this.#nextBlock >= this.#source.claimedBlocks()) return -1;
      this.#enter(this.#source.block(this.#nextBlock++));
    }
  }

  [Symbol.iterator](): this {
    return this;
  }

  #enter(view: BlockView): void {
    this.#bytes = view.bytes;
    this.#words = view.words;
    this.#start = view.start;
    this.#at = blockHeaderBytes;
    this.#end = 0;
    // As follow() does: an unstamped or impossible owner, or commit word, hides the block.
    if (loadOwner(view) <= 0) return;
    const commit = loadCommit(view, this.#source.blockSizeBytes);
    if (commit >= 0) this.#end = commitEnd(commit);
  }
}
