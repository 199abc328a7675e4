/**
 * ContentStore: a content-addressed store with an action cache, in one directory
 * that many processes read and write at once. LLVM's OnDiskGraphDB (objects with
 * references), OnDiskKeyValueDB (the action cache) and UnifiedOnDiskCache
 * (generations), for Bun, on the hash index and data pool.
 *
 * The effect we want: put(bytes) returns the SHA-256 of the bytes and stores them
 * once however many processes put them at the same moment; get(id) returns them
 * (or null) from any process, never half-written, never bytes of another id; the
 * store stays within a size limit without any process losing an object it is
 * using; and nothing takes a lock on the hot path.
 *
 * Why the obvious ways fail: a file per object (cacache, most build caches) costs
 * a path lookup, an open and a read per get, and writes that look complete before
 * they are; a database with a write lock serializes every writer; deleting old
 * entries to stay bounded needs reference counts or a global lock, and a process
 * that was just handed an id finds it gone.
 *
 * The way chosen (LLVM's): an index maps each id to one 8-byte word (storage kind
 * and offset). put writes the object's bytes first (into the data pool, or for 64
 * KiB and up into a file of its own, renamed into place), then publishes the word
 * with the index's first-insert-wins insert: a reader either finds the whole
 * object or nothing, and racing writers agree on one copy (the loser's bytes leak,
 * as in LLVM). Bounding is by generations (generations.ts): writes go to the
 * newest, reads fall back to the one before and copy what they find forward, and
 * older ones are deleted once no process holds them open. A write rotates, if it
 * must, before it writes, never after: what one call writes (an object and the
 * refs it copies forward, an action entry and its object) lands together in one
 * generation, so no rotation can split a node from its refs. Stored bytes never
 * change, so a read can hand out a view of the mapping (view(), LLVM's getData)
 * as well as a copy (get()): a view lives while this process holds its
 * generation, and is detached, never left dangling, when it lets go.
 *
 * What it gives up: space lost to races and crashes is reclaimed only when its
 * generation is deleted; an object survives a rotation only if something reads
 * it in the meantime (it is a cache); a process that keeps the store open but
 * idle pins the generations it holds; and like the arena it needs one machine and
 * a local file system.
 */
import { closeSync } from "node:fs";
import { join } from "node:path";
import { optionalBoolean, optionNames, requireBytes, requireOptions, requireString } from "../common/arguments.ts";
import { ArenaError, readOnlyError, type SystemErrorCode } from "../common/errors.ts";
import { openRegularFile } from "../arena/regular-file.ts";
import { lockFile, unlockFile } from "../native/native.ts";
import { ActionCache } from "./action-cache.ts";
import { isCannotWrite, wrapFsErrors } from "./fs-errors.ts";
import { noStoreToRead } from "./store-directory-errors.ts";
import { capacitiesFor, hardLimitShare, type Generation, type GenerationCapacities } from "./generation.ts";
import { collectGarbage, openFinishedNewerThan, openNewest, removeAbandonedTemporaries, startNextGeneration } from "./generations.ts";
import { hashObjectInto, idBytes, idScratch, idToHex, requireIdInto, sameId } from "./hashing.ts";
import { isPresent, largeObjectIntact, poolLeafLength, poolRecordViews, repairLargeObject, locate, readObject, storeObject, type ObjectContent, type ObjectLocation } from "./object-io.ts";
import { maxRefs, recordHeaderBytes, StorageKind } from "./object-record.ts";
import { claimStoreDirectory, requireStoreDirectory } from "./store-directory.ts";
import { storeTestHooks } from "./testing.ts";
import { validateGeneration, type ValidationReport } from "./validate.ts";
import { validateIfNeeded, type ValidateIfNeededOptions, type ValidationOutcome } from "./recovery.ts";
import { flushTimeout, remoteSettings, type RemoteOptions, type RemoteSettings } from "./remote/options.ts";
import type { RemoteStats } from "./remote/remote-stats.ts";
import { remoteAccess } from "./remote/store-access.ts";
import { StoreRemote } from "./remote/store-remote.ts";

export interface ContentStoreOptions {
  /**
   * Bytes: keep the store about this size on disk (at least 32 MiB). Each of the
   * two live generations gets half; see "Bounded size" in docs/store.md.
   * Default: unbounded.
   */
  maxBytes?: number;
  /** Re-hash every object get() returns and throw ERR_CAS_CORRUPT on a mismatch. Default false. */
  verifyOnRead?: boolean;
  /**
   * Share objects through a Bazel HTTP cache (docs/remote.md): puts upload in the
   * background, `store.remote.get(id)` fetches a local miss. Default: none.
   */
  remote?: RemoteOptions;
}

export interface ReadOnlyContentStoreOptions {
  /** Re-hash every object get() returns and throw ERR_CAS_CORRUPT on a mismatch. Default false. */
  verifyOnRead?: boolean;
}

const storeOptionNames = optionNames<ContentStoreOptions>({ maxBytes: true, verifyOnRead: true, remote: true });
const readOnlyStoreOptionNames = optionNames<ReadOnlyContentStoreOptions>({ verifyOnRead: true });
const validateIfNeededOptionNames = optionNames<ValidateIfNeededOptions>({ deep: true, allowRecovery: true, force: true });

/** An object: its bytes and the ids it refers to. */
export interface StoredObject {
  data: Uint8Array;
  refs: string[];
}

/** What stats() reports. */
export interface StoreStats {
  generations: {
    number: number;
    /** primary: written to; upstream: the one before; retained: what this process had open before its last follow, until its next. */
    role: "primary" | "upstream" | "retained";
    /** Index, pool and action cache files (their used sizes) plus large-object files. */
    storageBytes: number;
    /** The data pool's used size (its bump pointer). */
    poolBytes: number;
    largeObjectBytes: number;
  }[];
  storageBytes: number;
  maxBytes: number | null;
}

/** Space each generation may use beyond its share: the files' preallocation increments. */
const generationSlackBytes = 4 * 2 ** 20;
const minMaxBytes = 32 * 2 ** 20;
/**
 * A write compares the primary's size with its budget once this process wrote
 * this many bytes since its last look (reading the sizes costs more than a small
 * put), and at its first write: a generation overshoots by at most this much per
 * writing process, plus what one call writes.
 */
const budgetCheckBytes = 256 * 1024;
const noRefs = new Uint8Array(0);
/** How often put stores an object again because other processes' rotations left it behind. */
const maxStoreAttempts = 3;
/**
 * Codes of a failed open that say nothing about the store's files (the store is
 * busy or closed, the directory is not a store at all, the file system is
 * read-only, full or out of descriptors):
 * moving the store aside would not help. Every other ArenaError from opening a
 * generation is damage (a garbage header, a directory where a file belongs).
 */
const notDamage = new Set(["ERR_CAS_BUSY", "ERR_CAS_CLOSED", "ERR_CAS_NOT_A_STORE", "EROFS", "EACCES", "EPERM", "ENOSPC", "EDQUOT", "EMFILE", "ENFILE", "ENOMEM", "EAGAIN", "EINTR", "ERR_ARENA_NATIVE_LIBRARY", "ERR_ARENA_UNSUPPORTED_FS"]);

/** The smallest index record: a 32-byte id and its 8-byte word. Bounds copy-forward's stack. */
const minIndexRecordBytes = idBytes + 8;

/** One object on copy-forward's stack: its refs up to `next` are in the target. */
interface CopyFrame {
  key: Uint8Array;
  content: ObjectContent;
  next: number;
}

/** An error from opening or reading the store that says its files are damaged (what recovery moves aside). */
export function isDamage(error: unknown): error is ArenaError {
  return error instanceof ArenaError && !notDamage.has(error.code);
}

/**
 * A content-addressed store in a directory, shared by every process that opens it.
 *
 * ```ts
 * using store = ContentStore.open("cache-dir", { maxBytes: 10 * 2 ** 30 });
 * const id = store.put(new TextEncoder().encode("hello")); // SHA-256, hex
 * store.get(id); // { data, refs: [] }
 * store.actions.put("compile main.c with -O2", id);
 * store.actions.get("compile main.c with -O2"); // id
 * ```
 */
export class ContentStore implements Disposable {
  readonly directory: string;
  /** The size limit asked for, or null when unbounded. */
  readonly maxBytes: number | null;
  readonly verifyOnRead: boolean;
  /** The action cache: key -> object id, first writer wins. */
  readonly actions: ActionCache;
  /**
   * True when opened with openReadOnly: put, actions.put and gc throw
   * ERR_ARENA_READ_ONLY, and reads copy nothing forward.
   */
  readonly readOnly: boolean;
  /** The remote cache's read-through and transfers, or null without `options.remote`. */
  readonly remote: StoreRemote | null;

  #primary: Generation | null;
  /**
   * Older generations this process reads from and copies forward: the upstream
   * (the one before the primary), then the generations this process had open
   * before its last follow that the new pair skipped past, kept open (so not
   * collected) until its next follow. So an object this process touched stays
   * within its reach until it has followed two rotations without touching it
   * again, however many rotations other processes made in between.
   */
  #older: Generation[] = [];
  /** The members of #older kept from before the last follow (dropped at the next). */
  #retained = new Set<Generation>();
  /**
   * The members of #older that a follow during the current call let go: still
   * open, and still searched, until the next call begins (#begin) or close().
   * A call's own rotation (its write looks at the budget first) must not close
   * the generation holding what the call found or was given before it has
   * copied it forward: a read would return null, a node's ref would be missing.
   */
  #leaving: Generation[] = [];
  readonly #capacities: GenerationCapacities;
  readonly #budgetBytes: number;
  readonly #rootLockFd: number;
  /** Scratch for the id being looked up: parsed once, never allocated per call. */
  readonly #id = idScratch();
  readonly #check = new Uint8Array(idBytes);
  /** Where the data of the leaf #findLeaf found starts in the primary's pool. */
  #leafStart = 0;
  /**
   * Bytes this process wrote since it last compared the primary with its budget;
   * starts at the threshold, so an opener's first write looks (a process that
   * opens the store, puts a little and exits must still rotate a full primary).
   */
  #unchecked = budgetCheckBytes;
  /**
   * The bytes put() is storing, while it runs. They may be a view() of this store
   * over a generation that a follow before the put let go, closed as the put
   * begins (#releaseLeaving): that swaps them for a copy before it closes the
   * generation (which would detach them),
   * so the put never hashes or writes a detached, empty array (and never returns
   * the id of the empty object for them). Only then: other bytes are not copied.
   */
  #putBytes: Uint8Array | null = null;

  /** Opens (creating if needed) the store in `directory`. */
  static open(directory: string, options: ContentStoreOptions = {}): ContentStore {
    requireString(directory, "directory");
    requireOptions(options, storeOptionNames);
    let maxBytes: number | null = null;
    if (options.maxBytes !== undefined) {
      if (typeof options.maxBytes !== "number") throw new TypeError("options.maxBytes must be a number");
      if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < minMaxBytes) {
        throw new RangeError(`options.maxBytes must be an integer of at least ${minMaxBytes} (32 MiB), got ${options.maxBytes}`);
      }
      maxBytes = options.maxBytes;
    }
    const verifyOnRead = optionalBoolean(options.verifyOnRead, "options.verifyOnRead");
    const remote = options.remote === undefined ? null : remoteSettings(options.remote);
    return new ContentStore(directory, maxBytes, verifyOnRead, remote, false);
  }

  /**
   * Opens the existing store in `directory` read-only (the tables with
   * openReadOnly, see docs/read-only.md): get, has, actions.get, validate and
   * stats work, also on a read-only mount or a directory the caller may only
   * read; put, actions.put and gc throw ERR_ARENA_READ_ONLY. An object found
   * only in the older generation is returned from there, not copied forward, so
   * a reader never keeps anything alive across rotations.
   */
  static openReadOnly(directory: string, options: ReadOnlyContentStoreOptions = {}): ContentStore {
    requireString(directory, "directory");
    requireOptions(options, readOnlyStoreOptionNames);
    const verifyOnRead = optionalBoolean(options.verifyOnRead, "options.verifyOnRead");
    return new ContentStore(directory, null, verifyOnRead, null, true);
  }

  /**
   * Validates the store in `directory` once per boot (LLVM's validateIfNeeded):
   * "skipped" if this boot already did, "valid", or "recovered" when it was
   * corrupt and was moved aside (`corrupt.*`, removed by gc) to start afresh.
   * Recovery needs the store closed everywhere (ERR_CAS_BUSY otherwise); with
   * `allowRecovery: false` a corrupt store is ERR_CAS_CORRUPT instead.
   */
  static validateIfNeeded(directory: string, options: ValidateIfNeededOptions = {}): { outcome: ValidationOutcome; problems: string[] } {
    requireString(directory, "directory");
    requireOptions(options, validateIfNeededOptionNames);
    const settings = {
      deep: optionalBoolean(options.deep, "options.deep"),
      allowRecovery: options.allowRecovery === undefined ? true : optionalBoolean(options.allowRecovery, "options.allowRecovery"),
      force: optionalBoolean(options.force, "options.force"),
    };
    return validateIfNeeded(directory, settings, (deep) => {
      try {
        using store = ContentStore.open(directory);
        return store.validate({ deep }).problems;
      } catch (error) {
        if (isDamage(error)) return [error.message];
        throw error;
      }
    });
  }

  private constructor(directory: string, maxBytes: number | null, verifyOnRead: boolean, remote: RemoteSettings | null, readOnly: boolean) {
    this.directory = directory;
    this.maxBytes = maxBytes;
    this.verifyOnRead = verifyOnRead;
    this.readOnly = readOnly;
    this.#capacities = capacitiesFor(maxBytes ?? undefined);
    this.#budgetBytes = maxBytes === null ? Infinity : maxBytes / 2 - generationSlackBytes;
    // Shared while open, as LLVM's `lock`: recovery needs it exclusive. A reader
    // opens it for reading (a shared flock needs no more) and creates nothing.
    const lockPath = join(directory, "lock");
    this.#rootLockFd = wrapFsErrors(directory, () => {
      if (readOnly) requireStoreDirectory(directory);
      else claimStoreDirectory(directory);
      return openRootLock(directory, lockPath, readOnly);
    });
    try {
      lockFile(this.#rootLockFd, "shared", lockPath);
      const [primary, upstream] = openNewest(directory, this.#capacities, readOnly);
      this.#primary = primary;
      if (upstream !== null) this.#older = [upstream];
    } catch (error) {
      closeSync(this.#rootLockFd);
      throw error;
    }
    this.actions = new ActionCache({
      current: () => this.#begin(),
      older: () => this.#older,
      primaryForWrite: () => this.#primaryForWrite(),
      copyInto: (generation, id) => this.#copyInto(generation, id),
      wrote: (bytes) => {
        this.#unchecked += bytes;
      },
      ensurePresent: (id) => this.#ensurePresent(id),
      requireWritable: (what) => this.#requireWritable(what),
      readOnly,
      recorded: (keyHash, id) => this.remote?.actionStored(idToHex(keyHash), id),
    });
    const generations = () => [this.#current(), ...this.#older];
    const putLeaf = (bytes: Uint8Array, id: Uint8Array, idHex: string) => this.#storeHashed(bytes, noRefs, 0, id, idHex);
    this.remote = remote === null ? null : new StoreRemote(this, remoteAccess(generations, this.actions, putLeaf), remote);
  }

  /**
   * Stores `bytes` (and the ids in `refs`, each of which must already be in the
   * store) and returns the object's id: for an object without refs, the lowercase
   * hex SHA-256 of `bytes`. Storing what is already there changes nothing.
   */
  put(bytes: Uint8Array, refs: readonly string[] = []): string {
    // Before #requireWritable, which closes what the last call's follows let go:
    // a view of one of those is copied first (#putBytes), rather than detached.
    this.#putBytes = bytes;
    try {
      this.#requireWritable("put()");
      requireBytes(this.#putBytes, "bytes");
      if (!Array.isArray(refs)) throw new TypeError("refs must be an array of ids");
      if (refs.length > maxRefs) throw new RangeError(`refs may hold at most ${maxRefs} ids, got ${refs.length}`);
      const refCount = refs.length;
      const refBytes = refCount === 0 ? noRefs : new Uint8Array(refCount * idBytes);
      for (let index = 0; index < refCount; index++) {
        const ref = refBytes.subarray(index * idBytes, (index + 1) * idBytes);
        requireIdInto(refs[index], `refs[${index}]`, ref);
      }
      const id = this.#id;
      hashObjectInto(this.#putBytes, refBytes, refCount, id);
      return this.#storeHashed(this.#putBytes, refBytes, refCount, id);
    } finally {
      this.#putBytes = null;
    }
  }

  /**
   * put() once the id is known (the remote's downloads arrive hashed already,
   * and with the id in hex: `idHex`, lowercase, is `id`'s).
   *
   * The object goes into the generation that holds its refs: the refs are copied
   * into the generation taken for the write, and the object is written there, with
   * no follow in between. Taking the primary again after the refs' copy (which a
   * rotation, this process's or another's, may have replaced) would put a node in
   * a generation without its refs: validate calls that corrupt, and copy forward,
   * which looks for refs in the node's generation, loses the node.
   *
   * The object must end in a generation other processes read: the primary or its
   * upstream. When other processes rotate twice while it is being written, the
   * generation it went into is two behind: store it (and its refs) again in the
   * new primary.
   */
  #storeHashed(bytes: Uint8Array, refBytes: Uint8Array, refCount: number, id: Uint8Array, idHex = idToHex(id)): string {
    let wrote = false;
    for (let attempt = 0; attempt < maxStoreAttempts; attempt++) {
      let generation = this.#primaryForWrite();
      if (refCount > 0) {
        this.#requireRefsIn(generation, refBytes, refCount);
        storeTestHooks.at?.("refs-present");
        if (storeTestHooks.splitFromRefs) generation = this.#current(); // BROKEN on purpose
      }
      // put's bytes, or the copy a follow above made of them (they may be a view it let go).
      const data = this.#putBytes ?? bytes;
      const at = generation.findWord(id);
      const kind = at < 0 ? StorageKind.none : generation.wordKindAt(at);
      if (kind === StorageKind.none || storeTestHooks.writeEvenIfPresent) {
        this.#unchecked += storeObject(generation, id, { data, refBytes, refCount });
        wrote = true;
      } else if (kind !== StorageKind.pool) {
        this.#unchecked += repairLargeObject(generation, id, at, { data, refBytes, refCount });
      }
      // By number: a rotation (another's, on following) may have closed `generation`.
      if (generation.number >= this.#current().number - 1 || storeTestHooks.noStoreRetry) {
        if (wrote) this.remote?.objectStored(id, refCount);
        return idHex;
      }
    }
    throw new ArenaError("ERR_CAS_BUSY", `rotations kept overtaking the put of ${idHex} in ${this.directory}`, { path: this.directory });
  }

  /** Throws ERR_CAS_MISSING_REF unless every ref is in `generation` (copied into it if need be). */
  #requireRefsIn(generation: Generation, refBytes: Uint8Array, refCount: number): void {
    for (let index = 0; index < refCount; index++) {
      const ref = refBytes.subarray(index * idBytes, (index + 1) * idBytes);
      if (!this.#copyInto(generation, ref)) {
        throw new ArenaError("ERR_CAS_MISSING_REF", `refs[${index}] (${idToHex(ref)}) is not in the store ${this.directory}`, {
          path: this.directory,
        });
      }
    }
  }

  /** The object `id`, or null if the store does not have it. `data` is a copy: the caller's own. */
  get(id: string): StoredObject | null {
    const generation = this.#begin();
    const wanted = this.#id;
    requireIdInto(id, "id", wanted);
    const length = this.#findLeaf(generation, wanted);
    if (length >= 0) {
      const start = this.#leafStart;
      return { data: generation.poolBytes.slice(start, start + length), refs: [] };
    }
    return this.#getSlowly(generation, wanted);
  }

  /**
   * Copies the data of object `id` into `target` and returns its length; -1 if
   * the store does not have it. When the data is longer than `target`, nothing
   * is copied and the length is returned all the same (compare it with
   * `target.length`, grow, ask again). get() without the allocation: for a
   * reader that reuses one buffer. Refs are not returned (get() has them).
   */
  getInto(id: string, target: Uint8Array): number {
    const generation = this.#begin();
    const wanted = this.#id;
    requireIdInto(id, "id", wanted);
    requireBytes(target, "target");
    const length = this.#findLeaf(generation, wanted);
    if (length >= 0) {
      const start = this.#leafStart;
      if (length <= target.length) target.set(generation.poolBytes.subarray(start, start + length));
      return length;
    }
    const object = this.#getSlowly(generation, wanted);
    if (object === null) return -1;
    if (object.data.length <= target.length) target.set(object.data);
    return object.data.length;
  }

  /**
   * The data of object `id` without a copy: a view of the store's mapping (as
   * LLVM's ObjectProxy::getData, a reference into the mapped file), or null if
   * the store does not have it. For an object in a file of its own (a record of
   * 64 KiB and up) there is no mapping: the view is a fresh copy, read from the file.
   *
   * The bytes are immutable: nothing in the store ever writes to them again. The
   * view is for reading. Writing through it is not prevented: in a store opened
   * with open() it changes the object on disk for every process (it no longer
   * hashes to its id: verifyOnRead and validate({ deep: true }) report it as
   * ERR_CAS_CORRUPT); with openReadOnly it changes this process's private copy
   * of the page. Either way nothing crashes.
   *
   * It stays valid while this process keeps the object's generation open: until
   * close(), and through rotations as "Views" in docs/store.md says. Then its
   * buffer is detached: the view reads as length 0 (an index reads undefined, a
   * write is ignored), never the bytes of another object, and never a fault.
   * Copy what must outlive that (`view.slice()`), or use get().
   */
  view(id: string): Uint8Array | null {
    const generation = this.#begin();
    const wanted = this.#id;
    requireIdInto(id, "id", wanted);
    const length = this.#findLeaf(generation, wanted);
    if (length >= 0) return generation.poolView(this.#leafStart, length);
    return this.#viewSlowly(wanted);
  }

  /** view() for everything #findLeaf does not serve: older generations, refs, large objects, verifyOnRead. */
  #viewSlowly(wanted: Uint8Array): Uint8Array | null {
    // Copied forward first (unless read-only), which may rotate: look again after.
    if (!this.#ensurePresent(wanted)) return null;
    for (const generation of [this.#current(), ...this.#older]) {
      const location = locate(generation, wanted);
      if (location.kind === StorageKind.none) continue;
      if (location.kind !== StorageKind.pool) {
        const content = readObject(generation, wanted, location); // a copy: there is no mapping to view
        this.#verify(content, wanted);
        return content.data;
      }
      const content = poolRecordViews(generation, wanted, location.offset); // views for our eyes only
      this.#verify(content, wanted);
      this.#retain(generation);
      return generation.poolView(content.data.byteOffset, content.data.length);
    }
    return null;
  }

  /**
   * The common case of a read: a leaf in the primary's pool. Returns its data's
   * length, its start left in #leafStart (the data is in generation.poolBytes);
   * -1 for everything else (and with verifyOnRead, which must hash it first).
   */
  #findLeaf(generation: Generation, id: Uint8Array): number {
    if (this.verifyOnRead) return -1;
    const at = generation.findWord(id);
    if (at < 0 || generation.wordKindAt(at) !== StorageKind.pool) return -1;
    const offset = generation.wordOffsetAt(at);
    this.#leafStart = offset + recordHeaderBytes;
    return poolLeafLength(generation, offset);
  }

  /** get() for everything #findLeaf does not serve: older generations, refs, large objects, verifyOnRead. */
  #getSlowly(generation: Generation, wanted: Uint8Array): StoredObject | null {
    const location = locate(generation, wanted);
    if (location.kind !== StorageKind.none) return this.#finish(readObject(generation, wanted, location), wanted);
    const content = this.#readOlder(wanted);
    return content === null ? null : this.#finish(content, wanted);
  }

  /**
   * The object `id` that the primary lacks, from the older generation that has
   * it; null if none has it whole. A writer copies it (refs first) into the
   * primary on the way, so it outlives the next rotation; a copy the machine
   * cannot make (a full disk) is skipped, and the object read from where it is.
   */
  #readOlder(id: Uint8Array): ObjectContent | null {
    const found = this.#findOlder(id);
    if (found === null) return null;
    if (!this.#copiesForward) return readObject(found[0], id, found[1]);
    try {
      const into = this.#primaryForWrite(); // may rotate, and let `found`'s generation go: look again
      const location = locate(into, id);
      if (location.kind !== StorageKind.none) return readObject(into, id, location);
      const source = this.#findOlder(id);
      return source === null ? null : this.#copyForward(source[0], into, id);
    } catch (error) {
      if (!isCannotWrite(error)) throw error;
      const source = this.#findOlder(id);
      return source === null ? null : readObject(source[0], id, source[1]);
    }
  }

  /**
   * Whether the store has the object `id`: its index entry, and for a large
   * object (a file of its own) that file, whole (one stat; a missing file is
   * false, and putting the bytes again repairs it). Allocation-free for an
   * object in the newest generation's pool.
   */
  has(id: string): boolean {
    const generation = this.#begin();
    const wanted = this.#id;
    requireIdInto(id, "id", wanted);
    const at = generation.findWord(wanted);
    const kind = at < 0 ? StorageKind.none : generation.wordKindAt(at);
    if (kind === StorageKind.pool) return true;
    if (kind !== StorageKind.none) return largeObjectIntact(generation, wanted, kind, generation.wordOffsetAt(at));
    const found = this.#findOlder(wanted);
    if (found === null) return false;
    const [older, location] = found;
    if (location.kind !== StorageKind.pool && !largeObjectIntact(older, wanted, location.kind, location.offset)) return false;
    return this.#ensurePresent(wanted);
  }

  /**
   * Checks every object and action entry of the live generations: index records
   * pointing outside the pool, impossible records, missing or truncated
   * large-object files, refs to absent objects, and with `deep` every object's
   * hash. Reports every problem found; changes nothing.
   */
  validate(options: { deep?: boolean } = {}): ValidationReport {
    requireOptions(options, optionNames<{ deep?: boolean }>({ deep: true }));
    const deep = optionalBoolean(options.deep, "options.deep");
    const primary = this.#begin();
    const report: ValidationReport = { valid: true, problems: [], objects: 0, actions: 0 };
    for (const generation of [primary, ...this.#older]) validateGeneration(generation, deep, report);
    report.valid = report.problems.length === 0;
    return report;
  }

  /** Sizes of the live generations. */
  stats(): StoreStats {
    const primary = this.#begin();
    const generations: StoreStats["generations"] = [];
    for (const [index, generation] of [primary, ...this.#older].entries()) {
      const role = index === 0 ? "primary" : this.#retained.has(generation) ? "retained" : "upstream";
      generations.push({
        number: generation.number,
        role,
        storageBytes: generation.storageBytes,
        poolBytes: generation.pool.size,
        largeObjectBytes: generation.largeObjectBytes,
      });
    }
    const storageBytes = generations.reduce((sum, generation) => sum + generation.storageBytes, 0);
    return { generations, storageBytes, maxBytes: this.maxBytes };
  }

  /**
   * Deletes the generations no process uses any more (older than the newest two,
   * not held open), leftovers of interrupted deletions, and temporary files of
   * writers that died; with `includeCorrupt`, also what recovery moved aside.
   * Returns the names removed.
   */
  gc(options: { includeCorrupt?: boolean } = {}): string[] {
    this.#requireWritable("gc()");
    requireOptions(options, optionNames<{ includeCorrupt?: boolean }>({ includeCorrupt: true }));
    const includeCorrupt = optionalBoolean(options.includeCorrupt, "options.includeCorrupt");
    return [...collectGarbage(this.directory, { includeCorrupt }), ...removeAbandonedTemporaries(this.directory)];
  }

  get closed(): boolean {
    return this.#primary === null;
  }

  /**
   * Resolves true when every upload it waited for reached the remote; false
   * after `timeoutMs` (milliseconds, 0 or more, or Infinity), or when one did
   * not (refused after its retries, abandoned by close, unreadable locally):
   * docs/remote.md. Without a remote, true.
   */
  flush(timeoutMs: number = Infinity): Promise<boolean> {
    flushTimeout(timeoutMs); // checked with a remote or without: the same inputs are refused
    return this.remote === null ? Promise.resolve(true) : this.remote.flush(timeoutMs);
  }

  /** What the remote did, or null without one: see docs/remote.md. */
  remoteStats(): RemoteStats | null {
    return this.remote?.stats() ?? null;
  }

  /** Waits (at most `options.remote.closeTimeoutMs`) for pending uploads, then closes. For `await using`. */
  async closeAsync(): Promise<void> {
    if (this.remote !== null && !this.closed) await this.remote.flush(this.remote.closeTimeoutMs);
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.closeAsync();
  }

  /**
   * Closes the generations and releases the locks. Idempotent. Uploads still
   * pending are abandoned (counted in remoteStats()); closeAsync() waits for them.
   */
  close(): void {
    const primary = this.#primary;
    if (primary === null) return;
    this.remote?.close();
    this.#primary = null;
    primary.close();
    for (const generation of this.#older) generation.close();
    this.#older = [];
    this.#retained.clear();
    this.#leaving = [];
    // The generations this process held may have been all that kept old ones on
    // disk: with them let go, delete what nobody else holds, so the store ends
    // within its limit without waiting for the next rotation.
    if (!this.readOnly && !storeTestHooks.noCollectOnClose) collectQuietly(this.directory);
    try {
      unlockFile(this.#rootLockFd, join(this.directory, "lock"));
    } finally {
      closeSync(this.#rootLockFd);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The primary generation, after following a rotation another process made.
   * A follow the machine cannot make (the newest generation's tables need space
   * a full disk does not have, a read-only mount, no descriptors left) keeps
   * the current pair, as a reader does whose successor is unfinished: what was
   * put before the flag is in it, so reads (and gc, which frees space) go on.
   * Only a write fails: #primaryForWrite follows again and throws.
   */
  #current(): Generation {
    const primary = this.#primary;
    if (primary === null) throw new ArenaError("ERR_CAS_CLOSED", `the store is closed: ${this.directory}`, { path: this.directory });
    if (!primary.superseded) return primary;
    try {
      return this.#follow();
    } catch (error) {
      if (!isCannotWrite(error)) throw error;
      return primary;
    }
  }

  /**
   * #current() at the start of a public call: first closes what follows during
   * the previous call let go (#leaving). put() sets #putBytes before this, so a
   * view given to it is copied, not detached, if its generation is among them.
   */
  #begin(): Generation {
    if (this.#leaving.length !== 0) this.#releaseLeaving();
    return this.#current();
  }

  /** A view handed out of a generation this call's follow let go (its copy forward failed) keeps it until the next follow. */
  #retain(generation: Generation): void {
    if (!this.#leaving.includes(generation)) return;
    this.#leaving = this.#leaving.filter((other) => other !== generation);
    this.#retained.add(generation);
  }

  #releaseLeaving(): void {
    const leaving = this.#leaving;
    this.#leaving = [];
    this.#older = this.#older.filter((generation) => !leaving.includes(generation));
    const putBytes = this.#putBytes;
    if (putBytes !== null && leaving.some((generation) => generation.madeView(putBytes))) this.#putBytes = putBytes.slice();
    for (const generation of leaving) generation.close();
    if (!this.readOnly) collectQuietly(this.directory); // what we let go may have been all that kept it
  }

  /**
   * Moves on to the newest two generations, keeping open (not reopening) those
   * of them it has, so views of them stay valid. What this process had open
   * before and the new pair skipped past stays open ("retained") until its next
   * follow.
   */
  #follow(): Generation {
    const previous = this.#primary!;
    const opened = storeTestHooks.reopenOnFollow ? [] : [previous, ...this.#older];
    const pair = this.readOnly
      ? openFinishedNewerThan(this.directory, this.#capacities, previous.number, opened)
      : openNewest(this.directory, this.#capacities, false, opened);
    // A reader whose successor is not finished yet keeps its pair: all put before the flag is in it.
    if (pair === null) return previous;
    const [primary, upstream] = pair;
    const newest = upstream === null ? [primary] : [primary, upstream];
    const live = [previous, ...this.#older].filter((generation) => !this.#leaving.includes(generation));
    const had = live.filter((generation) => !this.#retained.has(generation));
    const keep = had.filter((generation) => !newest.some((fresh) => fresh.number === generation.number));
    const letGo = live.filter((generation) => !keep.includes(generation) && !newest.includes(generation));
    // Closed when the next call begins, not now: this call may still copy from them.
    const leaving = [...this.#leaving, ...letGo].filter((generation) => !newest.includes(generation));
    this.#primary = primary;
    this.#older = [...newest.slice(1), ...keep, ...leaving];
    this.#retained = new Set(keep);
    this.#leaving = leaving;
    if (!this.readOnly) collectQuietly(this.directory); // housekeeping: its failure is not the get's or put's
    return primary;
  }

  /** The store is open and may be written (not from openReadOnly): else ERR_CAS_CLOSED or ERR_ARENA_READ_ONLY. */
  #requireWritable(what: string): void {
    this.#begin();
    if (this.readOnly) throw readOnlyError(this.directory, what, "open");
  }

  /** The first older generation that has `id`, and where; null if none has. */
  #findOlder(id: Uint8Array): [Generation, ObjectLocation] | null {
    for (const generation of this.#older) {
      const location = locate(generation, id);
      if (location.kind !== StorageKind.none) return [generation, location];
    }
    return null;
  }

  /**
   * The generation a write goes into: the primary, after it gave way to a new one
   * if it is past its budget (or 85% of a table). Looked at before a write, never
   * after: so what one call writes (an object and the refs it copies, an action
   * entry and its object, a read's copy forward) lands in one generation, and that
   * is still the primary when the call returns. A check after the write would
   * rotate away from what was just written: a node from its refs' generation if
   * the refs' copy rotated, and an object above the budget on every read of it.
   * Looked at once this process wrote budgetCheckBytes since its last look, and
   * at its first write.
   */
  #primaryForWrite(): Generation {
    let primary = this.#current();
    // Still superseded: #current could not follow (a full disk). A write must not go there: its error.
    if (primary.superseded && !this.readOnly) primary = this.#follow();
    if (this.#unchecked < budgetCheckBytes) return primary;
    this.#unchecked = 0;
    if (primary.storageBytes <= this.#budgetBytes && primary.hardLimitUtilization <= hardLimitShare) return primary;
    startNextGeneration(this.directory, primary);
    return this.#follow();
  }

  /** Whether reads copy what they find in an older generation forward (not read-only, not the broken variant). */
  get #copiesForward(): boolean {
    return !storeTestHooks.noCopyForward && !this.readOnly;
  }

  /**
   * For a read (has, view, actions.get): true when some live generation has `id`,
   * after copying it (and its refs) into the primary if it is only in an older
   * one. A copy the machine cannot make (a full disk) is skipped: the object is
   * still where it was found.
   */
  #ensurePresent(id: Uint8Array): boolean {
    if (isPresent(this.#current(), id)) return true;
    if (this.#findOlder(id) === null) return false;
    if (!this.#copiesForward) return true;
    try {
      return this.#copyInto(this.#primaryForWrite(), id);
    } catch (error) {
      if (!isCannotWrite(error)) throw error;
      return this.#findOlder(id) !== null || isPresent(this.#current(), id);
    }
  }

  /**
   * True when `id` is in `into` (the generation a write took: the primary), after
   * copying it and its refs there from the older generation that has it; false if
   * none has it whole. Never rotates and never follows: what a write copies and
   * what it then writes must land in the one generation.
   */
  #copyInto(into: Generation, id: Uint8Array): boolean {
    if (isPresent(into, id)) return true;
    const found = this.#findOlder(id);
    return found !== null && this.#copyForward(found[0], into, id) !== null;
  }

  /**
   * Copies `id` and everything it refers to from `from` into `to`, refs first.
   * Null if incomplete. Depth-first with an explicit stack, so a chain of refs
   * as deep as `put` accepted (any depth) copies without recursion. Every object
   * on the stack is a distinct record of `from` unless its refs form a cycle
   * (impossible for hashes, so damage), so the stack never holds more frames than
   * the index has records: past that, the store is corrupt.
   */
  #copyForward(from: Generation, to: Generation, id: Uint8Array): ObjectContent | null {
    const maxFrames = Math.ceil(from.objects.size / minIndexRecordBytes) + 1;
    const stack: CopyFrame[] = [];
    const push = (key: Uint8Array): boolean => {
      const location = locate(from, key);
      if (location.kind === StorageKind.none) return false;
      if (stack.length >= maxFrames) {
        throw new ArenaError("ERR_CAS_CORRUPT", `refs in ${from.directory} form a cycle`, { path: from.directory });
      }
      stack.push({ key, content: readObject(from, key, location), next: 0 });
      return true;
    };
    if (!push(id.slice())) return null; // the caller's buffer may be scratch that the refs below reuse
    for (;;) {
      const frame = stack[stack.length - 1]!;
      const { content } = frame;
      if (frame.next < content.refCount) {
        const at = frame.next++ * idBytes;
        const ref = content.refBytes.subarray(at, at + idBytes);
        if (!isPresent(to, ref) && !push(ref.slice())) return null;
        continue;
      }
      this.#unchecked += storeObject(to, frame.key, content);
      stack.pop();
      if (stack.length === 0) return content;
    }
  }

  /** With verifyOnRead: throws ERR_CAS_CORRUPT unless `content` hashes to `id`. */
  #verify(content: ObjectContent, id: Uint8Array): void {
    if (!this.verifyOnRead) return;
    hashObjectInto(content.data, content.refBytes, content.refCount, this.#check);
    if (!sameId(this.#check, 0, id, 0)) {
      throw new ArenaError("ERR_CAS_CORRUPT", `object ${idToHex(id)} in ${this.directory} does not hash to its id`, {
        path: this.directory,
      });
    }
  }

  #finish(content: ObjectContent, id: Uint8Array): StoredObject {
    this.#verify(content, id);
    const refs: string[] = new Array(content.refCount);
    for (let index = 0; index < content.refCount; index++) refs[index] = idToHex(content.refBytes, index * idBytes);
    return { data: content.data, refs };
  }
}

/**
 * collectGarbage where it is housekeeping, not what the caller asked for (after
 * a follow, at close): a failure (a generation another process is deleting, a
 * read-only file system) leaves the rest to the next collector.
 */
function collectQuietly(directory: string): void {
  try {
    collectGarbage(directory);
  } catch {
    // The next follow, close or gc() tries again.
  }
}

/**
 * The store's root lock file: created by a writer; a reader only opens it for
 * reading. Never waits on a FIFO there (regular-file.ts): a reader is exactly
 * who does not own the store, so one mkfifo by its owner must not hang it.
 */
function openRootLock(directory: string, lockPath: string, readOnly: boolean): number {
  if (!readOnly) return openRegularFile(lockPath, "lock");
  try {
    return openRegularFile(lockPath, "read");
  } catch (error) {
    if (error instanceof ArenaError) throw error;
    throw noStoreToRead(directory, lockPath, ((error as NodeJS.ErrnoException).code ?? "EIO") as SystemErrorCode);
  }
}
