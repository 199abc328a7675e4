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
import type { Generation } from "./generation.ts";
import { idBytes, idScratch, idToHex, requireIdInto, sameId } from "./hashing.ts";
import { storeTestHooks } from "./testing.ts";

interface StoreAccess {
  current(): Generation;
  /** The older generations the store reads from, newest first. */
  older(): readonly Generation[];
  /**
   * Copies the object (and its refs) into the primary generation if needed; false
   * if absent. Read-only: only whether some live generation has it.
   */
  ensurePresent(id: Uint8Array): boolean;
  /** Throws ERR_ARENA_READ_ONLY naming `what` when the store was opened read-only. */
  requireWritable(what: string): void;
  readonly readOnly: boolean;
  /** Told of every entry put() recorded (the remote's write-behind hook). */
  recorded(keyHash: Uint8Array, id: string): void;
}

const encoder = new TextEncoder();

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
    this.#store.current();
    requireIdInto(id, "id", this.#value);
    this.#putHashed(this.#hashKey(key), id);
  }

  /** @internal put() for a key known only by its SHA-256 (an entry fetched from a remote cache). */
  putByKeyHash(hashedKey: Uint8Array, id: string): void {
    this.#store.current();
    requireIdInto(id, "id", this.#value);
    this.#putHashed(hashedKey, id);
  }

  #putHashed(hashedKey: Uint8Array, id: string): void {
    this.#store.requireWritable("actions.put()");
    let generation = this.#store.current();
    const value = this.#value;
    if (!this.#store.ensurePresent(value)) {
      throw new ArenaError("ERR_CAS_MISSING_REF", `the action's result ${id} is not in the store`, {
        path: generation.directory,
      });
    }
    this.#followForward(hashedKey);
    generation = this.#store.current(); // copying forward may have started a new generation
    if (storeTestHooks.plainActionPut) {
      // BROKEN on purpose: last writer wins, nobody is told.
      const found = generation.actions.find(hashedKey);
      if (found !== null) found.data.set(value);
      else generation.actions.insert(hashedKey, (fresh) => fresh.set(value));
      return;
    }
    const record = generation.actions.insert(hashedKey, (fresh) => fresh.set(value));
    if (!sameId(record.data, 0, value, 0)) {
      throw new ArenaError(
        "ERR_CAS_POISONED",
        `the action cache already maps this key to ${idToHex(record.data)}, not ${id}; the stored result is kept`,
        { path: generation.directory },
      );
    }
    this.#store.recorded(hashedKey, id);
  }

  /** The id `key` maps to, or null. */
  get(key: string | Uint8Array): string | null {
    const generation = this.#store.current();
    const hashedKey = this.#hashKey(key);
    const record = generation.actions.find(hashedKey);
    if (record !== null) return idToHex(record.data);
    const forwarded = this.#followForward(hashedKey);
    return forwarded === null ? null : idToHex(forwarded);
  }

  /**
   * Copies an older generation's entry for the key (and its object) into the
   * primary one, so it outlives the next rotation. Returns the id, or null. A
   * read-only store copies nothing: the older entry is the answer.
   */
  #followForward(hashedKey: Uint8Array): Uint8Array | null {
    let found = null;
    for (const generation of this.#store.older()) if ((found = generation.actions.find(hashedKey)) !== null) break;
    if (found === null) return null;
    const id = found.data.slice();
    if (storeTestHooks.noCopyForward) return id;
    // An entry whose object is gone is a miss, not a dangling hit.
    if (!this.#store.ensurePresent(id)) return null;
    if (this.#store.readOnly) return id;
    const key = hashedKey.slice();
    this.#store.current().actions.insert(key, (fresh) => fresh.set(id));
    return id;
  }

  #hashKey(key: string | Uint8Array): Uint8Array {
    if (typeof key === "string") Bun.SHA256.hash(encoder.encode(requireWellFormedString(key, "key")), this.#key);
    else if (key instanceof Uint8Array) Bun.SHA256.hash(key, this.#key);
    else throw new TypeError(`key must be a string or a Uint8Array, got ${key === null ? "null" : typeof key}`);
    return this.#key;
  }
}
