/**
 * RecordLog: a shared append-only log of byte records in one arena file. Many
 * processes append at once without a lock; readers scan it or follow it live.
 *
 * The effect we want: appending a record costs about a memory copy; every reader,
 * in any process, reads every committed record exactly once and whole, and a
 * writer's records in the order it appended them; a record is visible as soon as
 * it is committed; and a writer killed at any instruction never stalls a reader
 * nor makes a later record unreadable.
 *
 * Why the obvious way fails: allocate each record from the arena (one atomic add)
 * and store its length word last, as the commit. A writer killed between the add
 * and that store leaves a record whose length is written nowhere: a reader cannot
 * skip it, because it cannot know where the next record starts, and cannot tell it
 * from a record still being written. Every follower stops there, forever.
 *
 * The way chosen: writers claim fixed-size blocks (one compare-and-swap on the
 * arena's bump pointer per block, not per record, after the block's disk is
 * reserved, so that a claim is never taken back) and fill them alone. Because every
 * block has the same size, any block can be skipped whatever state its writer
 * left it in. A block's header names its writer (slot and generation) and holds a
 * commit word: the end of its committed records, stored last after each append,
 * plus a "sealed" bit once the writer is done with it. Whether a silent block's
 * writer is slow or dead is asked of the kernel: each writer holds an
 * open-file-description lock on its slot's byte, which dies with it
 * (writer-slots.ts). A reader that finds a block unsealed and its writer's lock
 * free reads what was committed and moves on; a block claimed but never stamped is
 * a hole when no live writer is in the middle of claiming it. No timeout is guessed.
 *
 * What it gives up: records are in file order per block, not globally (follow()
 * yields them as they are committed, keeping each writer's order); a record must
 * fit in a block (blockSize minus 20 bytes); a dead writer wastes the rest of its
 * block, and a sealed block its unused tail. Linux only (OFD locks). A writer's
 * death is its process's: a Worker terminated without close() stays a live writer
 * until the process exits (the lock belongs to the process's open file).
 * docs/DESIGN.md (the record log) has the format and the reasoning in full.
 */
import { closeSync, readSync } from "node:fs";
import { ArenaError, closedError, notCreatedYet, readOnlyError } from "../common/errors.ts";
import { describeFileKind } from "../common/file-kinds.ts";
import { optionalBoolean, optionNames, requireBytes, requireKnownOptions, requireNonNegativeInteger, requireOptions, requireString } from "../common/arguments.ts";
import { MappedFileRegionArena } from "../arena/arena.ts";
import { findHeader } from "../arena/header.ts";
import { openRegularFileToRead } from "../arena/regular-file.ts";
import { wordLoadsFor, type WordLoads } from "../arena/word-loads.ts";
import { closeFile, openFile } from "../native/native.ts";
import { commitEnd, isFreshBlock, loadCommit, loadOwner, recordLengthAt, type BlockView } from "./blocks.ts";
import { RecordIterator, type RecordVisitor } from "./record-iterator.ts";
import { FollowCursor, type CursorSource, type LogRecord } from "./follow-cursor.ts";
import {
  arenaHeaderOffset,
  blockCommitWord,
  blockGenerationWord,
  blockHeaderBytes,
  blockOwnerWord,
  decodeLogHeader,
  defaultBlockSizeBytes,
  encodeLogHeader,
  firstBlockOffset,
  isValidBlockSize,
  logHeaderBytes,
  logHeaderProblem,
  logMagic,
  maxBlockSizeBytes,
  maxRecordBytes,
  minBlockSizeBytes,
  recordHeaderBytes,
  sealedBit,
  slotClaimingWord,
  claimingValue,
} from "./format.ts";
import { verifyBlocks, type LogStats } from "./verify.ts";
import { checkWaitOptions, retryUntilCreated, sleep, type WaitForLogOptions } from "./wait-for-log.ts";
import { withReadOnlyHint } from "./write-refused.ts";
import { releaseSlot, slotLiveness, takeSlot, type HeldSlot, type Liveness } from "./writer-slots.ts";

export type { LogRecord } from "./follow-cursor.ts";
export type { RecordVisitor } from "./record-iterator.ts";
export type { LogStats, CountAndBytes } from "./verify.ts";
export type { WaitForLogOptions } from "./wait-for-log.ts";

export interface RecordLogOptions {
  /** Bytes: the most the file can ever hold (sparse on disk). An existing log's capacity wins. */
  capacity: number;
  /**
   * Bytes per block, a power of two from 4 KiB to 256 MiB; default 64 KiB. Fixed
   * when the log is created (an existing log's wins). The largest record is 20
   * bytes less; a writer that dies wastes at most one block.
   */
  blockSize?: number;
  /** Open even on NFS, SMB or FUSE (see MappedFileRegionArena). */
  allowUnsafeFileSystem?: boolean;
}

export interface ReadOnlyRecordLogOptions {
  /** Open even on NFS, SMB or FUSE (see MappedFileRegionArena). */
  allowUnsafeFileSystem?: boolean;
}

export interface FollowOptions {
  /** Stops the iteration (it returns) when aborted, including while it waits. */
  signal?: AbortSignal;
}

const logOptionNames = optionNames<RecordLogOptions>({ capacity: true, blockSize: true, allowUnsafeFileSystem: true });
const readOnlyLogOptionNames = optionNames<ReadOnlyRecordLogOptions>({ allowUnsafeFileSystem: true });

const constructing = Symbol("constructing");
/** Idle polls that yield to the event loop only (setImmediate) before timers take over. */
const immediatePolls = 2;
/**
 * How often follow() asks the kernel whether the writers of stalled blocks are
 * alive: by time, not by idleness, so that a busy log (never idle) still passes
 * its dead writers' blocks and holes, and its list of unfinished blocks stays short.
 */
const probeIntervalMs = 4;

/**
 * A shared append-only record log. Writers open it with open() (which creates it),
 * readers with openReadOnly() or waitForLog() (which never write):
 *
 * ```ts
 * using log = RecordLog.open("events.log", { capacity: 1 << 30 });
 * const position = log.append(new TextEncoder().encode("hello"));
 * for (const { position, bytes } of log.records()) {}        // what is committed now
 * for await (const { bytes } of log.follow(0, { signal })) {} // and then live
 * ```
 */
export class RecordLog implements Disposable {
  readonly path: string;
  /** Bytes per block (fixed at creation). */
  readonly blockSize: number;
  /** The largest record this log takes: blockSize - 20. */
  readonly maxRecordBytes: number;
  /** True when opened with openReadOnly: append and appendBatch throw ERR_ARENA_READ_ONLY. */
  readonly readOnly: boolean;

  #arena: MappedFileRegionArena | null;
  /**
   * Our own descriptor of the file: the OFD slot lock lives on it, and lock
   * queries go through it. Opened by the shim with O_CLOEXEC: a child process
   * that inherited it would keep our slot locked after our death, and readers
   * would wait for a dead writer.
   */
  #fd: number;
  #slotWords: Int32Array;
  /** Atomics.load for a writer; loads that never copy a page for a read-only opener. */
  readonly #loads: WordLoads;
  #liveness: Liveness;
  #held: HeldSlot | null = null;

  // The writer's current block. #used starts at the block size, so that the first
  // append finds "no room" and claims a block on the slow path.
  #blockStart = 0;
  #blockBytes: Uint8Array = new Uint8Array(0);
  #blockWords: Int32Array = new Int32Array(0);
  #used: number;
  /** appendBatch's copy of its argument, emptied after each call. */
  readonly #batch: Uint8Array[] = [];

  /**
   * Opens the log at `path`, creating it if it does not exist. A file that is not a
   * record log is refused with ERR_LOG_CORRUPT and left untouched; the arena's
   * errors (ERR_ARENA_*, errno names) come through for the rest.
   */
  static open(path: string, options: RecordLogOptions): RecordLog {
    requireString(path, "path");
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`options must be an object with a capacity, got ${options === null ? "null" : typeof options}`);
    }
    requireKnownOptions(options, logOptionNames);
    const capacity = requireNonNegativeInteger(options.capacity, "options.capacity");
    const blockSize = requireNonNegativeInteger(options.blockSize ?? defaultBlockSizeBytes, "options.blockSize");
    if (!isValidBlockSize(blockSize)) {
      throw new RangeError(`options.blockSize must be a power of two from ${minBlockSizeBytes} to ${maxBlockSizeBytes}, got ${blockSize}`);
    }
    if (capacity < firstBlockOffset + blockSize) {
      throw new RangeError(`options.capacity must hold the log header and one block (${firstBlockOffset + blockSize} bytes), got ${capacity}`);
    }
    const allowUnsafeFileSystem = optionalBoolean(options.allowUnsafeFileSystem, "options.allowUnsafeFileSystem");
    refuseIfNotALog(path);
    let arena: MappedFileRegionArena;
    try {
      arena = MappedFileRegionArena.create(path, {
        capacity,
        headerOffset: arenaHeaderOffset,
        allowUnsafeFileSystem,
        onCreate: (fresh) => encodeLogHeader(fresh.bytes(0, 64), blockSize),
      });
    } catch (error) {
      throw withReadOnlyHint(error, path);
    }
    return RecordLog.#adopt(arena);
  }

  /**
   * Waits for a writer to create the log at `path`, then opens it read-only (as
   * openReadOnly does): for a follower that may start before its writers. Retries
   * while the file is missing (ENOENT) or being created (ERR_ARENA_NOT_CREATED),
   * sleeping 1 to 50 ms between tries, for up to `timeoutMs` (default 10 s;
   * Infinity waits until `signal` aborts); then throws the last of those errors.
   * Any other error is thrown at once. Aborting rejects with the signal's reason.
   */
  static waitForLog(path: string, options: WaitForLogOptions = {}): Promise<RecordLog> {
    requireString(path, "path");
    const { timeoutMs, signal } = checkWaitOptions(options);
    const allowUnsafeFileSystem = optionalBoolean(options.allowUnsafeFileSystem, "options.allowUnsafeFileSystem");
    return retryUntilCreated(path, () => RecordLog.openReadOnly(path, { allowUnsafeFileSystem }), timeoutMs, signal);
  }

  /**
   * Opens the existing log at `path` read-only (see MappedFileRegionArena.openReadOnly):
   * records(), read(), follow() and stats() work, also on a read-only mount or a
   * file the caller may only read; append and appendBatch throw ERR_ARENA_READ_ONLY.
   * A follower sees records that writers commit later (the mapping follows the file).
   */
  static openReadOnly(path: string, options: ReadOnlyRecordLogOptions = {}): RecordLog {
    requireString(path, "path");
    requireOptions(options, readOnlyLogOptionNames);
    const allowUnsafeFileSystem = optionalBoolean(options.allowUnsafeFileSystem, "options.allowUnsafeFileSystem");
    refuseIfNotALog(path);
    let arena: MappedFileRegionArena;
    try {
      arena = MappedFileRegionArena.openReadOnly(path, { headerOffset: arenaHeaderOffset, allowUnsafeFileSystem });
    } catch (error) {
      throw notCreatedYet(error, path, "record log", "RecordLog.open(path, { capacity })");
    }
    return RecordLog.#adopt(arena);
  }

  /** Checks the log header of an opened arena and opens our own descriptor; closes the arena on failure. */
  static #adopt(arena: MappedFileRegionArena): RecordLog {
    const path = arena.path;
    let fd = -1;
    try {
      const header = decodeLogHeader(arena.bytes(0, 64));
      const problem = logHeaderProblem(header);
      if (problem !== undefined) {
        throw new ArenaError("ERR_LOG_CORRUPT", `${path} is not a record log: ${problem}; it was left as it was`, { path });
      }
      // A reader's descriptor only asks whether writers' slot locks are held
      // (F_OFD_GETLK), which read permission allows.
      fd = openFile(path, { create: false, readOnly: arena.readOnly });
      return new RecordLog(constructing, arena, fd, header.blockSizeBytes);
    } catch (error) {
      if (fd >= 0) closeFile(fd, path);
      arena.close();
      throw error;
    }
  }

  private constructor(token: typeof constructing, arena: MappedFileRegionArena, fd: number, blockSize: number) {
    if (token !== constructing) throw new TypeError("use RecordLog.open(path, options)");
    this.path = arena.path;
    this.blockSize = blockSize;
    this.maxRecordBytes = maxRecordBytes(blockSize);
    this.readOnly = arena.readOnly;
    this.#arena = arena;
    this.#fd = fd;
    const header = arena.bytes(0, logHeaderBytes);
    this.#slotWords = new Int32Array(header.buffer, header.byteOffset, logHeaderBytes / 4);
    this.#loads = wordLoadsFor(arena.readOnly);
    this.#liveness = slotLiveness(fd, this.path, this.#slotWords, () => this.#held?.slot ?? -1, this.#loads);
    this.#used = blockSize;
  }

  /** The arena's capacity in bytes. */
  get capacity(): number {
    return this.#openArena().capacity;
  }

  /**
   * Appends one record and returns its position (its file offset, the same in
   * every process). When it returns the record is committed: readers anywhere can
   * read it, and it survives this process's death (sync() for a power loss).
   */
  append(bytes: Uint8Array): number {
    // (An empty array may be a detached one: requireBytes names it rather than let set() fail unnamed.)
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) requireBytes(bytes, "bytes");
    const at = this.#used;
    const next = at + recordHeaderBytes + ((bytes.length + 3) & ~3);
    if (next > this.blockSize) return this.#appendInNewBlock(bytes);
    const words = this.#blockWords;
    words[at >> 2] = bytes.length;
    this.#blockBytes.set(bytes, at + recordHeaderBytes);
    this.#used = next;
    // The commit: stored after the record's bytes, so a reader that sees it sees them.
    Atomics.store(words, blockCommitWord, next);
    return this.#blockStart + at;
  }

  /**
   * Appends several records with one commit per block they land in (one, when
   * they fit what is left of the current block) and returns the position of the
   * first (the others follow it in order; -1 for an empty batch). Readers see a
   * block's share of the batch all at once; a batch that spans blocks is not
   * atomic as a whole: if claiming a further block fails (ERR_ARENA_FULL, ENOSPC,
   * ERR_LOG_TOO_MANY_WRITERS), the records before it are committed, and the
   * error's `committedRecords` says how many (retry from there, not from 0).
   * Bad arguments (a record that is not a Uint8Array or is too long) commit nothing.
   *
   * It writes straight into the block through the mapping, like append, and
   * saves append's per-record commit store and call. (Staging the records and
   * writing each block's share with pwrite, to spare the page faults, was tried:
   * slower here, because the kernel then also does work for the disk the arena
   * reserved; docs/DESIGN.md (the record log).)
   */
  appendBatch(records: readonly Uint8Array[]): number {
    if (!Array.isArray(records)) throw new TypeError(`records must be an array of Uint8Array, got ${typeof records}`);
    // The records are read once, here, into a reused list: an array whose elements
    // change between two reads (a getter) cannot pass the checks with one record
    // and hand the writing loop another.
    // (A getter that calls appendBatch again gets a list of its own.)
    const batch = this.#batch.length === 0 ? this.#batch : [];
    try {
      for (let index = 0; index < records.length; index++) {
        const record = records[index];
        if (!(record instanceof Uint8Array) || record.length === 0) requireBytes(record, `records[${index}]`);
        if (record!.length > this.maxRecordBytes) this.#rejectLength(record!.length, `records[${index}].length`);
        batch.push(record!);
      }
      return this.#appendChecked(batch);
    } finally {
      batch.length = 0;
    }
  }

  #appendChecked(records: readonly Uint8Array[]): number {
    if (this.#openArena().readOnly) throw readOnlyError(this.path, "appendBatch()", "open");
    let first = -1;
    let words = this.#blockWords;
    let bytes = this.#blockBytes;
    let at = this.#used;
    // One pass, straight into the block; a record that does not fit commits the
    // block's share (the seal does it), claims a block and goes again.
    for (let index = 0; index < records.length; index++) {
      const record = records[index]!;
      const next = at + recordHeaderBytes + ((record.length + 3) & ~3);
      if (next > this.blockSize) {
        this.#used = at;
        this.#claimBlockInBatch(index);
        words = this.#blockWords;
        bytes = this.#blockBytes;
        at = this.#used;
        index -= 1; // again, in the new block, where every record fits
        continue;
      }
      if (first < 0) first = this.#blockStart + at;
      words[at >> 2] = record.length;
      bytes.set(record, at + recordHeaderBytes);
      at = next;
    }
    this.#used = at;
    if (words.length > 0) Atomics.store(words, blockCommitWord, at);
    return first;
  }

  /**
   * The records committed now, in file order, from `fromPosition` (a position
   * append returned, or 0 for the start). A record committed during the scan is
   * yielded if the scan has not passed its block yet; use follow() to miss none.
   *
   * `bytes` is a zero-copy view of the mapping, valid until this log is closed
   * (then it reads as empty); the record's bytes never change. Copy it
   * (`bytes.slice()`) to keep it longer. A damaged block is read up to its first
   * impossible record and skipped from there (stats() counts it as corrupt).
   */
  records(fromPosition = 0): IterableIterator<LogRecord> {
    return this.#scan(fromPosition);
  }

  #scan(fromPosition: number): RecordIterator {
    requireNonNegativeInteger(fromPosition, "fromPosition");
    this.#openArena();
    const from = Math.max(fromPosition, firstBlockOffset);
    return new RecordIterator(this.#cursorSource(), from, Math.floor((from - firstBlockOffset) / this.blockSize));
  }

  /**
   * records() without an object per record: calls `visit(block, start, end,
   * position)` for each committed record at `fromPosition` or after, in file
   * order, where the record is `block.subarray(start, end)` and `block` is a view
   * of its whole block (one view per block; same lifetime as records()' views).
   * Read the bytes in place (`block[start + i]`, a DataView, TextDecoder on a
   * subarray) to make nothing per record. `visit` returning false stops the scan.
   * Returns the number of records visited.
   */
  forEachRecord(visit: RecordVisitor, fromPosition = 0): number {
    if (typeof visit !== "function") throw new TypeError(`visit must be a function, got ${typeof visit}`);
    return this.#scan(fromPosition).forEach(visit);
  }

  /**
   * The bytes of the committed record at `position` (a position append or a reader
   * returned), as a zero-copy view with the same lifetime as records()'. A
   * RangeError when no committed record starts there. Finding it walks the
   * record's block from its start: up to blockSize / 4 steps.
   */
  read(position: number): Uint8Array {
    requireNonNegativeInteger(position, "position");
    const index = Math.floor((position - firstBlockOffset) / this.blockSize);
    if (position >= firstBlockOffset && index < this.#claimedBlocks()) {
      const block = this.#block(index);
      const { bytes, words, start } = block;
      const commit = loadOwner(block) > 0 ? loadCommit(block, this.blockSize) : -1;
      const end = commit < 0 ? 0 : commitEnd(commit);
      for (let at = blockHeaderBytes; at < end && start + at <= position; ) {
        const length = recordLengthAt(words, at, end);
        if (length < 0) break;
        if (start + at === position) return new Uint8Array(bytes.buffer, bytes.byteOffset + at + recordHeaderBytes, length);
        at += recordHeaderBytes + ((length + 3) & ~3);
      }
    }
    throw new RangeError(`position ${position} is not the position of a committed record in ${this.path}`);
  }

  /**
   * Every record at `fromPosition` or after, as it is committed, until `signal`
   * aborts (or forever). Each writer's records come in the order it appended them;
   * records of different writers come in the order they are seen committed.
   *
   * How it waits: it polls the mapping (one atomic load of the bump pointer and of
   * each unfinished block's commit word), first yielding to the event loop, then
   * with setTimeout(0), which Bun runs about 1 ms later: ~0.5 ms to see a commit on
   * average, ~1 ms at worst on a machine that is not overloaded, and ~3% of a core
   * while idle (measured, docs/log.md).
   * Blocks whose writer is silent are checked with the kernel every 4 ms (one
   * lock query each): a dead writer's committed records are read and its block passed.
   * Closing the log while following makes the iteration throw ERR_ARENA_CLOSED.
   */
  follow(fromPosition = 0, options: FollowOptions = {}): AsyncGenerator<LogRecord, void, undefined> {
    // Checked here, not in the generator, so that a wrong argument throws at the call.
    requireNonNegativeInteger(fromPosition, "fromPosition");
    requireOptions(options, optionNames<FollowOptions>({ signal: true }));
    const signal = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError("options.signal must be an AbortSignal");
    this.#openArena();
    return this.#follow(fromPosition, signal);
  }

  async *#follow(fromPosition: number, signal: AbortSignal | undefined): AsyncGenerator<LogRecord, void, undefined> {
    const cursor = new FollowCursor(this.#cursorSource(), fromPosition);
    const ready: LogRecord[] = [];
    let idlePolls = 0;
    let lastProbe = performance.now();
    // A function, not a property read: the consumer may abort while we are suspended at a yield.
    const aborted = () => signal?.aborted === true;
    while (!aborted()) {
      this.#openArena();
      ready.length = 0;
      const now = performance.now();
      const probe = now - lastProbe >= probeIntervalMs;
      if (probe) lastProbe = now;
      cursor.poll(ready, probe);
      if (ready.length > 0) {
        idlePolls = 0;
        for (const record of ready) {
          // Closed while the consumer held us at a yield: the next views would be empty.
          this.#openArena();
          yield record;
          if (aborted()) return;
        }
        continue;
      }
      idlePolls += 1;
      await pause(idlePolls <= immediatePolls, signal);
    }
  }

  /** Counts of committed records, open, sealed and abandoned blocks, holes and corrupt blocks. */
  stats(): LogStats {
    this.#openArena();
    return verifyBlocks({
      blockSizeBytes: this.blockSize,
      claimedEnd: this.#openArena().size,
      capacity: this.capacity,
      block: (index) => this.#block(index),
      liveness: this.#liveness,
    });
  }

  /** msync: returns when every record appended so far (by any process) is on disk. */
  sync(): void {
    this.#openArena().sync();
  }

  get closed(): boolean {
    return this.#arena === null;
  }

  /**
   * Seals this writer's block (readers move past it at once), releases its writer
   * slot and closes the file. Views from records() and follow() then read as empty.
   * Calling it again does nothing.
   */
  close(): void {
    const arena = this.#arena;
    if (arena === null) return;
    try {
      if (this.#held !== null) {
        if (this.#blockWords.length > 0) Atomics.store(this.#blockWords, blockCommitWord, this.#used | sealedBit);
        releaseSlot(this.#fd, this.path, this.#held);
      }
    } finally {
      this.#arena = null;
      this.#held = null;
      this.#blockWords = new Int32Array(0);
      this.#blockBytes = new Uint8Array(0);
      this.#used = this.blockSize;
      try {
        closeFile(this.#fd, this.path);
      } finally {
        arena.close();
      }
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** #claimBlock for appendBatch: its error says how many records of the batch are committed (the seal did it). */
  #claimBlockInBatch(committed: number): void {
    try {
      this.#claimBlock();
    } catch (error) {
      if (!(error instanceof ArenaError)) throw error;
      throw new ArenaError(error.code, `${error.message} (${committed} records of the batch were committed before it)`, {
        syscall: error.syscall,
        path: error.path,
        errno: error.errno,
        committedRecords: committed,
      });
    }
  }

  /**
   * append's slow path: closed, read-only (a reader has no block, so every append
   * comes here), too large, or the current block is full (or there is none).
   */
  #appendInNewBlock(bytes: Uint8Array): number {
    if (this.#openArena().readOnly) throw readOnlyError(this.path, "append()", "open");
    if (bytes.length > this.maxRecordBytes) this.#rejectLength(bytes.length, "bytes.length");
    this.#claimBlock();
    return this.append(bytes);
  }

  /**
   * Seals the current block (if any) and claims a new one, stamped with our slot.
   *
   * The claim is a compare-and-swap of the bump pointer from the end of the last
   * block to the end of the new one, after the arena has reserved its disk
   * (arena.tryAllocateAt), not allocateOffset's add: an add that fails to reserve
   * takes itself back, and a follower that saw the block in between would judge
   * it a hole while the next claimer fills it (docs/DESIGN.md (the record log), "Claims are
   * never taken back"). Checked before the swap, so that a refusal claims nothing:
   * the bump pointer is on the block grid, and the block is fresh (a pointer that
   * went down must not lead us to write over committed records).
   */
  #claimBlock(): void {
    const arena = this.#openArena();
    const held = (this.#held ??= takeSlot(this.#fd, this.path, this.#slotWords));
    if (this.#blockWords.length > 0) Atomics.store(this.#blockWords, blockCommitWord, this.#used | sealedBit);
    this.#blockWords = new Int32Array(0);
    this.#blockBytes = new Uint8Array(0);
    this.#used = this.blockSize;
    const claiming = slotClaimingWord(held.slot);
    try {
      const view = this.#claimFreshBlock(arena, claiming);
      Atomics.store(view.words, blockGenerationWord, held.generation);
      Atomics.store(view.words, blockOwnerWord, held.slot + 1);
      this.#blockStart = view.start;
      this.#blockBytes = view.bytes;
      this.#blockWords = view.words;
      this.#used = blockHeaderBytes;
    } finally {
      // Cleared on every path: a claiming word left set would keep readers from
      // judging the block it names a hole for as long as we live.
      Atomics.store(this.#slotWords, claiming, 0);
    }
  }

  /** The compare-and-swap loop of #claimBlock; returns the claimed block, not yet stamped. */
  #claimFreshBlock(arena: MappedFileRegionArena, claiming: number): BlockView {
    const blockSize = this.blockSize;
    // Each failed swap means another claim succeeded (the pointer only grows), so
    // more tries than the capacity has blocks means the pointer is being moved down.
    const maxTries = Math.floor((arena.capacity - firstBlockOffset) / blockSize) + 2;
    for (let tries = 0; tries < maxTries; tries++) {
      // At most the capacity (arena.size clamps a pointer left past it by an
      // allocation killed while it backed out: full, not corrupt).
      const end = arena.size;
      // Claimed blocks fit whole: the capacity's tail past the last whole block is never claimed.
      if (end + blockSize > arena.capacity) {
        throw new ArenaError("ERR_ARENA_FULL", `${this.path} is full: no room for another ${blockSize}-byte block in its capacity ${arena.capacity}`, { path: this.path });
      }
      if (end < firstBlockOffset || (end - firstBlockOffset) % blockSize !== 0) {
        throw this.#corrupt(`its arena's bump pointer ${end} is not on the block grid (block 0 at ${firstBlockOffset}, ${blockSize} bytes each): something other than a record log allocated in it, or the header is damaged`);
      }
      const index = (end - firstBlockOffset) / blockSize;
      Atomics.store(this.#slotWords, claiming, claimingValue(index));
      const view = this.#block(index);
      if (!isFreshBlock(view.words)) {
        if (arena.size !== end) continue; // another writer claimed and stamped it just now
        throw this.#corrupt(`block ${index} at ${end}, past its bump pointer, already holds a block header: the bump pointer went down (the header is damaged); nothing was written`);
      }
      if (arena.tryAllocateAt(end, blockSize)) return view;
    }
    throw this.#corrupt(`its arena's bump pointer keeps moving down while a writer claims a block`);
  }

  #corrupt(reason: string): ArenaError {
    return new ArenaError("ERR_LOG_CORRUPT", `${this.path}: ${reason}`, { path: this.path });
  }

  #claimedBlocks(): number {
    const claimedEnd = this.#openArena().size;
    return Math.max(0, Math.floor((claimedEnd - firstBlockOffset) / this.blockSize));
  }

  #block(index: number): BlockView {
    const start = firstBlockOffset + index * this.blockSize;
    const bytes = this.#openArena().bytes(start, this.blockSize);
    return { start, bytes, words: new Int32Array(bytes.buffer, bytes.byteOffset, this.blockSize / 4), loads: this.#loads };
  }

  #cursorSource(): CursorSource {
    return {
      blockSizeBytes: this.blockSize,
      firstBlockOffset,
      claimedBlocks: () => this.#claimedBlocks(),
      block: (index) => this.#block(index),
      liveness: this.#liveness,
    };
  }

  #openArena(): MappedFileRegionArena {
    const arena = this.#arena;
    if (arena === null) throw closedError(this.path, "the record log");
    return arena;
  }

  #rejectLength(length: number, name: string): never {
    throw new RangeError(`${name} (${length}) is more than the largest record of this log (${this.maxRecordBytes} bytes: blockSize - 20)`);
  }
}

/**
 * Refuses, before the arena opens it (which refreshes a header word), a file that
 * is already something other than a record log: its first bytes are not the
 * log's magic, and it is not an empty file or an arena whose creation was
 * interrupted (zeros, capacity 0: the arena creates those afresh, running our
 * onCreate). A file that cannot be read, or is not a regular file (a FIFO would
 * block the open), is left to the arena to report.
 */
function refuseIfNotALog(path: string): void {
  const start = new Uint8Array(firstBlockOffset);
  let read: number;
  const fd = openRegularFileToRead(path);
  if (fd === undefined) return;
  try {
    read = readSync(fd, start, 0, start.length, 0);
  } catch {
    return;
  } finally {
    closeSync(fd);
  }
  if (read === 0) return;
  const header = decodeLogHeader(start);
  if (header.magic === logMagic) return;
  const startsWithZeros = start.subarray(0, 8).every((byte) => byte === 0);
  const capacityWord = read >= firstBlockOffset ? new DataView(start.buffer).getBigUint64(arenaHeaderOffset + 16, true) : 0n;
  if (startsWithZeros && capacityWord === 0n) return;
  throw new ArenaError("ERR_LOG_CORRUPT", `${path} is not a record log: ${whatElseItIs(start.subarray(0, read)) ?? logHeaderProblem(header)}; it was left untouched`, { path });
}

/** What a file that is not a log is, if it is another of the library's kinds, or an arena (its header where a log's is not). */
function whatElseItIs(start: Uint8Array): string | undefined {
  const kind = describeFileKind(start);
  if (kind !== undefined) return `it is ${kind}`;
  // The bytes read stand in for the file's size: findHeader only asks that a header's capacity cover it.
  const headerAt = findHeader(start, start.length, arenaHeaderOffset);
  return headerAt === undefined ? undefined : `it is an arena with its header at offset ${headerAt} (a log's is at ${arenaHeaderOffset})`;
}

/** Waits for the next poll: a turn of the event loop, or a timer tick; ends early on abort. */
function pause(immediate: boolean, signal: AbortSignal | undefined): Promise<void> {
  return immediate ? new Promise((resolve) => setImmediate(resolve)) : sleep(0, signal);
}
