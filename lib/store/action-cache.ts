/**
 * The action cache (LLVM's OnDiskKeyValueDB as its ActionCaches use it): a key,
 * such as the hash of a build step's inputs, maps to the id of its result. The
 * first writer wins: a later put of another id for the same key is refused with
 * ERR_CAS_POISONED and the stored id is kept, because two different results for
 * one action mean a non-deterministic action or a corrupt writer, and silently
 * replacing one with the other hides it.
 *
 * Keys are hashed with SHA-256 (of the string's UTF-8, or of the bytes) into the
 * 256-bit index key, so keys of any length work and the string "k" and the bytes
 * of "k" are the same key. A string key must be well-formed UTF-16 (no unpaired
 * surrogate): UTF-8 has no encoding for a lone surrogate, and the encoder would
 * write U+FFFD for it, so "\uD800", "\uDC00" and "\uFFFD" would be one key and
 * a lookup would return another key's result. Such a key is a RangeError. The value is the 32-byte id itself (not an index
 * offset as in LLVM), so an entry means the same thing in every generation.
 */
import { requireWellFormedString } from "../common/arguments.ts";
import { ArenaError } from "../common/errors.ts";
import { isCannotWrite } from "./fs-errors.ts";
import type { Generation } from "./generation.ts";
import { idBytes, idScratch, idToHex, requireIdInto, sameId } from "./hashing.ts";
import { storeTestHooks } from "./testing.ts";

interface StoreAccess {
  current(): Generation;
  /** The older generations the store reads from, newest first. */
  older(): readonly Generation[];
  /** The primary, after it gave way to a new one if it was full: what a write goes into. */
  primaryForWrite(): Generation;
  /**
   * True when the object is in `generation` (the one primaryForWrite gave), after
   * copying it and its refs there from an older generation; false if none has it.
   * Never rotates nor follows.
   */
  copyInto(generation: Generation, id: Uint8Array): boolean;
  /** Counts bytes written towards the store's next look at the primary's budget. */
  wrote(bytes: number): void;
  /**
   * For a read: whether some live generation has the object, copied into the
   * primary on the way when it can be (not read-only, the disk not full).
   */
  ensurePresent(id: Uint8Array): boolean;
  /** Throws ERR_ARENA_READ_ONLY naming `what` when the store was opened read-only. */
  requireWritable(what: string): void;
  readonly readOnly: boolean;
  /** Told of every entry put() recorded (the remote's write-behind hook). */
  recorded(keyHash: Uint8Array, id: string): void;
}

const encoder = new TextEncoder();
/**
 * What one entry adds to a generation's size, for the budget: the 64-byte record
 * and its share of the trie's subtries (measured: 64 MiB of action table held
 * about 382,000 entries, 176 bytes each).
 */
const entryBytes = 176;
/** How often an entry is recorded again because the generation it went into was superseded meanwhile. */
const maxRecordAttempts = 3;

export class ActionCache {
  readonly #store: StoreAccess;
  readonly #key = new Uint8Array(idBytes);
  readonly #value = idScratch();

  /** @internal Made by ContentStore. */
  constructor(access: StoreAccess) {
    this.#store = access;
  }

  /**
   * Records that `key` produces the object `id` (which must be in the store).
   * Throws ArenaError ERR_CAS_POISONED if `key` already maps to another id.
   */
  put(key: string | Uint8Array, id: string): void {
    const hashedKey = this.#hashKey(key); // before any follow, which may let a view given as key go
    this.#store.current();
    requireIdInto(id, "id", this.#value);
    this.#putHashed(hashedKey, id);
  }

  /** @internal put() for a key known only by its SHA-256 (an entry fetched from a remote cache). */
  putByKeyHash(hashedKey: Uint8Array, id: string): void {
    this.#store.current();
    requireIdInto(id, "id", this.#value);
    this.#putHashed(hashedKey, id);
  }

  #putHashed(hashedKey: Uint8Array, id: string): void {
    this.#store.requireWritable("actions.put()");
    const value = this.#value;
    const stored = this.#record(hashedKey, value);
    if (stored === null) {
      throw new ArenaError("ERR_CAS_MISSING_REF", `the action's result ${id} is not in the store`, {
        path: this.#store.current().directory,
      });
    }
    if (!sameId(stored, 0, value, 0)) {
      throw new ArenaError(
        "ERR_CAS_POISONED",
        `the action cache already maps this key to ${idToHex(stored)}, not ${id}; the stored result is kept`,
        { path: this.#store.current().directory },
      );
    }
    this.#store.recorded(hashedKey, id);
  }

  /**
   * Records `hashedKey` -> `value` in the primary generation, with value's object
   * (copied forward if need be), and returns the id the key maps to there:
   * `value`, or the one that won before (an entry already in the primary, or one
   * in an older generation whose object is still there, carried forward first so
   * that first-insert-wins sees it). Null if no live generation has value's object.
   *
   * Entry and object go into one generation, the one taken for the write, with
   * no follow in between: a rotation (ours or another process's) after the
   * object's copy must not leave the entry in a generation without its object.
   *
   * When that generation was superseded by the time the entry is in, the entry is
   * recorded again in the new primary: the rotator may have looked for the key in
   * our generation before our insert and recorded another id in its new one, and
   * the newest generation must hold the one answer every process reads. Our
   * insert (a compare-and-swap, a full fence) comes before our atomic load of the
   * flag; the other side stores (or loads) the flag and follows, system calls in
   * between, before it looks our key up: at least one of us sees the other's
   * write, so no two ids are both acknowledged (docs/DESIGN.md, "One generation
   * per write").
   */
  #record(hashedKey: Uint8Array, value: Uint8Array): Uint8Array | null {
    for (let attempt = 0; attempt < maxRecordAttempts; attempt++) {
      let generation = this.#store.primaryForWrite();
      if (!this.#store.copyInto(generation, value)) return null;
      const earlier = this.#olderEntry(hashedKey);
      const winner = earlier !== null && !sameId(earlier, 0, value, 0) && this.#store.copyInto(generation, earlier) ? earlier : value;
      storeTestHooks.at?.("refs-present");
      if (storeTestHooks.splitFromRefs) generation = this.#store.current(); // BROKEN on purpose
      let record;
      if (storeTestHooks.plainActionPut) {
        // BROKEN on purpose: last writer wins, nobody is told.
        record = generation.actions.find(hashedKey);
        if (record !== null) record.data.set(winner);
        else record = generation.actions.insert(hashedKey, (fresh) => fresh.set(winner));
      } else {
        record = generation.actions.insert(hashedKey, (fresh) => fresh.set(winner));
      }
      this.#store.wrote(entryBytes);
      if (!generation.superseded || storeTestHooks.noRecheckAfterRecord) return record.data;
    }
    throw new ArenaError("ERR_CAS_BUSY", `rotations kept overtaking an action entry in ${this.#store.current().directory}`, {
      path: this.#store.current().directory,
    });
  }

  /** The id `key` maps to, or null. */
  get(key: string | Uint8Array): string | null {
    const hashedKey = this.#hashKey(key); // before any follow, which may let a view given as key go
    const generation = this.#store.current();
    const record = generation.actions.find(hashedKey);
    if (record !== null) return idToHex(record.data);
    const forwarded = this.#followForward(hashedKey);
    return forwarded === null ? null : idToHex(forwarded);
  }

  /**
   * Copies an older generation's entry for the key (and its object) into the
   * primary one, so it outlives the next rotation. Returns the id, or null. A
   * read-only store copies nothing: the older entry is the answer; nor does a
   * writer that cannot write (a full disk): it answers from where the entry is.
   */
  #followForward(hashedKey: Uint8Array): Uint8Array | null {
    const id = this.#olderEntry(hashedKey);
    if (id === null) return null;
    if (storeTestHooks.noCopyForward) return id;
    // An entry whose object is gone is a miss, not a dangling hit.
    if (this.#store.readOnly) return this.#store.ensurePresent(id) ? id : null;
    try {
      return this.#record(hashedKey, id);
    } catch (error) {
      if (!isCannotWrite(error)) throw error;
      return this.#store.ensurePresent(id) ? id : null;
    }
  }

  /** The id an older generation's entry for the key maps to (a copy), or null. */
  #olderEntry(hashedKey: Uint8Array): Uint8Array | null {
    for (const generation of this.#store.older()) {
      const found = generation.actions.find(hashedKey);
      if (found !== null) return found.data.slice();
    }
    return null;
  }

  #hashKey(key: string | Uint8Array): Uint8Array {
    if (typeof key === "string") Bun.SHA256.hash(encoder.encode(requireWellFormedString(key, "key")), this.#key);
    else if (key instanceof Uint8Array) Bun.SHA256.hash(key, this.#key);
    else throw new TypeError(`key must be a string or a Uint8Array, got ${key === null ? "null" : typeof key}`);
    return this.#key;
  }
}
