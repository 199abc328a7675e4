/**
 * A ContentStore's link to a remote cache: read-through on a local miss,
 * write-behind on put, and whole-store push and pull.
 *
 * The store's API is synchronous and its hits cost microseconds; HTTP is neither.
 * A synchronous read-through (a Worker doing the fetch while the caller blocks
 * in Atomics.wait) would make every local miss block the thread for a network
 * round trip, up to the timeout, with the event loop frozen. So `get` and `has`
 * stay local and never touch the network, and the read-through is asynchronous:
 * `store.remote.get(id)` / `has(id)` / `getAction(key)` answer locally when they
 * can and otherwise ask the remote, verify, store locally, and answer. A blob is
 * stored only if its SHA-256 is the id asked for; anything else is counted in
 * `corrupt` and is a miss to the caller.
 *
 * Only leaves (objects without refs) travel, as `/cas/<sha256>`: they are the
 * blobs Bazel stores, byte for byte. An object with refs has an id that is not
 * the SHA-256 of any blob (hashing.ts), which no Bazel cache would accept under
 * that name; it stays local (`uploadsSkipped`). Action entries travel as
 * `/ac/<sha256 of the key>` with the id in hex as the body: not Bazel
 * ActionResult messages.
 */
import { join } from "node:path";
import { requireString, requireWellFormedString } from "../../common/arguments.ts";
import { ArenaError } from "../../common/errors.ts";
import type { ContentStore, StoredObject } from "../content-store.ts";
import { spillDirectoryName } from "../generations.ts";
import { idBytes, idScratch, idToHex, parseIdInto, sameId } from "../hashing.ts";
import { HttpCache, miss, type Body, type Failure } from "./http-cache.ts";
import { flushTimeout, type RemoteSettings } from "./options.ts";
import { emptyRemoteStats, type RemoteStats } from "./remote-stats.ts";
import { remoteTestHooks } from "./testing.ts";
import { Uploader, type Upload, type UploadBody } from "./uploader.ts";

/** What the store lets its remote see besides its public API. */
export interface RemoteStoreAccess {
  /** Stores a leaf whose SHA-256 `id` (and its lowercase hex, `idHex`) the caller has computed: put() without hashing again. */
  putLeaf(bytes: Uint8Array, id: Uint8Array, idHex: string): string;
  /** The path of `id`'s own file when it is a large leaf (streamed on upload), else null. */
  leafBody(id: string): { path: string; length: number } | { bytes: Uint8Array } | null;
  /** Every object id and action entry (key hash, id) of the live generations. */
  entries(): { objects: string[]; actions: [keyHash: string, id: string][] };
  /** Records an action entry by its key's SHA-256 (what the remote holds). */
  putAction(keyHash: Uint8Array, id: string): void;
  /** True when `id` (lowercase hex) is a published object without refs: one that can travel. */
  isLeaf(id: string): boolean;
}

/** A whole-store transfer's counts. */
export interface TransferReport {
  objects: number;
  actions: number;
  /** Objects or entries that could not be transferred (see remoteStats().lastError). */
  failed: number;
  /**
   * pull: entries the local store already maps to another id. The local one is
   * kept (first writer wins, as for actions.put): not a failure.
   */
  actionsKept: number;
  /** The manifest's id: what `pull` starts from. */
  manifest: string | null;
}

const encoder = new TextEncoder();
const hexId = /^[0-9a-f]{64}$/;
/** An action entry's body: 64 hex digits, perhaps a newline. */
const maxActionBodyBytes = 80;
/** A manifest may list this many entries at most (bounds the parse of a remote's bytes). */
const maxManifestLines = 50_000_000;

function sha256(key: string | Uint8Array): Uint8Array {
  const hash = new Uint8Array(idBytes);
  Bun.SHA256.hash(typeof key === "string" ? encoder.encode(key) : key, hash);
  return hash;
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function manifestKey(name: string): string {
  // Hashed as UTF-8, as an action key is: it must be well-formed for the same reason.
  requireWellFormedString(requireString(name, "name"), "name");
  return `mapped-file-arena manifest ${name}`;
}

export class StoreRemote {
  readonly url: string;
  readonly #store: ContentStore;
  readonly #access: RemoteStoreAccess;
  readonly #settings: RemoteSettings;
  readonly #stats = emptyRemoteStats();
  readonly #http: HttpCache;
  readonly #uploader: Uploader;
  /** Downloads in flight, by id: two callers asking for one id share one request. */
  readonly #fetching = new Map<string, Promise<Uint8Array | null>>();
  /** True while storing what the remote sent: it is not uploaded back. */
  #receiving = false;
  /** The id a download asks for, parsed (a Buffer: parseIdInto decodes into it without allocating). */
  readonly #wanted = idScratch();
  /** An upload's id, parsed, and the SHA-256 of its bytes: checked when its body is made. */
  readonly #uploadId = idScratch();
  readonly #uploadHash = new Uint8Array(idBytes);
  /** The largest download accepted: the option, within half the store's size limit. */
  readonly #maxObjectBytes: number;

  /** @internal Made by ContentStore.open when `options.remote` is given. */
  constructor(store: ContentStore, access: RemoteStoreAccess, settings: RemoteSettings) {
    this.url = settings.baseUrl;
    this.#store = store;
    this.#access = access;
    this.#settings = settings;
    this.#http = new HttpCache(settings, this.#stats, join(store.directory, spillDirectoryName));
    this.#maxObjectBytes = store.maxBytes === null ? settings.maxObjectBytes : Math.min(settings.maxObjectBytes, store.maxBytes / 2);
    this.#uploader = new Uploader(this.#http, settings, this.#stats, (upload) => this.#objectBody(upload));
  }

  /** Milliseconds closeAsync() waits for pending uploads. */
  get closeTimeoutMs(): number {
    return this.#settings.closeTimeoutMs;
  }

  /**
   * @internal put() stored a new object, `id` (its 32 bytes, copied: the caller
   * may reuse them): a leaf is queued for upload; one with refs stays local, counted in uploadsSkipped.
   */
  objectStored(id: Uint8Array, refCount: number): void {
    if (this.#receiving) return;
    if (refCount === 0) this.#uploader.enqueueObject(id);
    else this.#stats.uploadsSkipped += 1;
  }

  /** @internal actions.put() recorded an entry. */
  actionStored(keyHash: string, id: string): void {
    if (this.#receiving) return;
    // An entry naming an object with refs would dangle on the remote: the object
    // itself does not travel (its id is no SHA-256 of any bytes). Counted, not sent.
    if (this.#access.isLeaf(id)) this.#uploader.enqueue("ac", keyHash, id);
    else this.#stats.uploadsSkipped += 1;
  }

  /** The object `id`: local if the store has it, else from the remote (verified, then stored locally), else null. */
  async get(id: string): Promise<StoredObject | null> {
    const local = this.#store.get(id); // checks the id
    if (local !== null) return local;
    const data = await this.#fetchObject(id.toLowerCase()); // the protocol's names are lowercase
    return data === null ? null : { data, refs: [] };
  }

  /** Whether the object is local, or could be fetched (it then is: a get() after a true is local). */
  async has(id: string): Promise<boolean> {
    if (this.#store.has(id)) return true; // checks the id
    return (await this.#fetchObject(id.toLowerCase())) !== null;
  }

  /** The id `key` maps to: local, else the remote's entry (once its object is here too), else null. */
  async getAction(key: string | Uint8Array): Promise<string | null> {
    const local = this.#store.actions.get(key);
    if (local !== null) return local;
    const keyHash = sha256(key);
    const id = await this.#remoteActionId(keyHash);
    if (id === null || this.#store.closed) return null;
    // Another writer recorded a different result meanwhile: the local one wins.
    return this.#recordPulledAction(keyHash, id) ? id : this.#store.actions.get(key);
  }

  /** Resolves true when every upload it waited for reached the remote; false after `timeoutMs`, or when one did not (Uploader.flush). */
  flush(timeoutMs: number = Infinity): Promise<boolean> {
    return this.#uploader.flush(flushTimeout(timeoutMs));
  }

  /** A copy of the counters. */
  stats(): RemoteStats {
    return { ...this.#stats };
  }

  /** @internal The store is closing: uploads still pending are abandoned (counted). */
  close(): void {
    this.#uploader.close();
  }

  /**
   * Uploads every leaf and action entry of the store, then a manifest listing
   * them under the action key `mapped-file-arena manifest <name>`, for `pull`.
   */
  async push(name = "default"): Promise<TransferReport> {
    const manifestKeyHash = sha256(manifestKey(name)); // a bad name is refused before anything is sent
    const entries = this.#access.entries();
    const objects = entries.objects;
    // Entries naming objects with refs stay local, as in actionStored: their objects do not travel.
    const leaves = new Set(objects);
    const actions = entries.actions.filter(([, id]) => leaves.has(id));
    this.#stats.uploadsSkipped += entries.actions.length - actions.length;
    const before = this.#stats.uploadsFailed + this.#stats.uploadsDropped;
    const lines: string[] = [];
    const batch = this.#settings.concurrency * 64;
    for (const id of objects) {
      this.#uploader.enqueue("cas", id, null);
      lines.push(`o ${id}`);
      if (this.#stats.pending >= batch) await this.flush();
    }
    // Every object's upload ended before the first entry goes: an entry must not
    // reach the remote ahead of the object it names (entries wait only for
    // objects queued by put, not for these).
    await this.flush();
    for (const [keyHash, id] of actions) {
      this.#uploader.enqueue("ac", keyHash, id);
      lines.push(`a ${keyHash} ${id}`);
      if (this.#stats.pending >= batch) await this.flush();
    }
    await this.flush();
    const failed = this.#stats.uploadsFailed + this.#stats.uploadsDropped - before;
    // The manifest is a leaf like any other; its entry is not recorded locally (a
    // later push replaces it on the remote, which the local action cache would refuse).
    const manifest = this.#receive(() => this.#store.put(encoder.encode(`${lines.join("\n")}\n`)));
    this.#uploader.enqueue("cas", manifest, null);
    await this.flush();
    this.#uploader.enqueue("ac", hexOf(manifestKeyHash), manifest);
    await this.flush();
    const failedNow = this.#stats.uploadsFailed + this.#stats.uploadsDropped - before;
    return { objects: objects.length, actions: actions.length, failed, actionsKept: 0, manifest: failedNow > failed ? null : manifest };
  }

  /** Fetches every object and action entry listed in the manifest `name` that `push` uploaded. */
  async pull(name = "default"): Promise<TransferReport> {
    const manifest = await this.#remoteActionId(sha256(manifestKey(name)));
    if (manifest === null) return { objects: 0, actions: 0, failed: 0, actionsKept: 0, manifest: null };
    const stored = this.#store.get(manifest);
    if (stored === null) return { objects: 0, actions: 0, failed: 1, actionsKept: 0, manifest: null }; // rotated out meanwhile
    const text = new TextDecoder().decode(stored.data);
    const lines = text.split("\n", maxManifestLines);
    const report: TransferReport = { objects: 0, actions: 0, failed: 0, actionsKept: 0, manifest };
    let next = 0;
    const worker = async () => {
      // Bounded by the manifest: each pass takes one line.
      while (next < lines.length) {
        const line = lines[next++]!;
        if (line === "") continue;
        const [kind, first, second] = line.split(" ");
        if (kind === "o" && first !== undefined && hexId.test(first)) {
          if (await this.#pulledObject(first, manifest)) report.objects += 1;
          else report.failed += 1;
        } else if (kind === "a" && first !== undefined && second !== undefined && hexId.test(first) && hexId.test(second)) {
          if (await this.#pulledObject(second, manifest)) {
            if (this.#recordPulledAction(Buffer.from(first, "hex"), second)) report.actions += 1;
            else report.actionsKept += 1;
          } else report.failed += 1;
        } else {
          this.#stats.corrupt += 1;
          this.#stats.lastError = `manifest ${manifest}: an unreadable line ${JSON.stringify(line.slice(0, 160))}`;
          report.failed += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: this.#settings.concurrency }, worker));
    return report;
  }

  /**
   * Whether object `id`, listed in the manifest, is local now (fetched if it was
   * not). When it cannot be had, lastError names it: a miss counts no error of
   * its own, and "1 failed" must say which.
   */
  async #pulledObject(id: string, manifest: string): Promise<boolean> {
    if (this.#store.has(id)) return true;
    const before = this.#stats.lastError;
    if ((await this.#fetchObject(id)) !== null) return true;
    const why = this.#stats.lastError !== before && this.#stats.lastError !== null ? this.#stats.lastError : "the remote does not have it";
    this.#stats.lastError = `object ${id}, listed in manifest ${manifest}, could not be fetched: ${why}`;
    return false;
  }

  /**
   * Records a pulled action entry; false when the local store already maps the
   * key to another id (a machine that ran the step itself), which it keeps.
   */
  #recordPulledAction(keyHash: Uint8Array, id: string): boolean {
    try {
      this.#receive(() => this.#access.putAction(keyHash, id));
      return true;
    } catch (error) {
      if (error instanceof ArenaError && error.code === "ERR_CAS_POISONED") return false;
      throw error;
    }
  }

  /** Downloads `id` into the local store; its verified bytes (the caller's to keep), or null. */
  #fetchObject(id: string): Promise<Uint8Array | null> {
    const inFlight = this.#fetching.get(id);
    // Each caller owns what it is given: the second one gets a copy.
    if (inFlight !== undefined && !remoteTestHooks.noSharedDownloads) return inFlight.then((bytes) => bytes?.slice() ?? null);
    const fetching = this.#download(id);
    this.#fetching.set(id, fetching);
    return fetching;
  }

  async #download(id: string): Promise<Uint8Array | null> {
    const stats = this.#stats;
    let result;
    try {
      result = await this.#http.get("cas", id, this.#maxObjectBytes);
    } finally {
      this.#fetching.delete(id); // before the local put: a caller arriving after it finds the object local
    }
    if (!this.#arrived(result)) return null;
    try {
      parseIdInto(id, this.#wanted); // id is 64 hex digits: get() and has() checked it
      const verified = sameId(result.sha256, 0, this.#wanted, 0);
      if (!verified && !remoteTestHooks.trustRemoteBytes) {
        stats.corrupt += 1;
        stats.downloadsFailed += 1;
        stats.lastError = `GET cas/${id}: the server sent ${result.bytes.length} bytes that do not hash to the id; refused`;
        return null;
      }
      if (this.#store.closed) return null;
      // Hashed already (into result.sha256): the broken variant stores under what the bytes hash to.
      const hex = verified ? id : idToHex(result.sha256);
      this.#receive(() => this.#access.putLeaf(result.bytes, result.sha256, hex));
      stats.hits += 1;
      return result.bytes;
    } finally {
      result.release();
    }
  }

  /** Whether a GET brought a body; a miss or a failure is counted in the stats. */
  #arrived(result: Body | typeof miss | Failure): result is Body {
    if (result === miss) this.#stats.misses += 1;
    else if (result.failed) this.#stats.downloadsFailed += 1;
    else return true;
    return false;
  }

  /** The id the remote's entry for `keyHash` names, once its object is local; else null. */
  async #remoteActionId(keyHash: Uint8Array): Promise<string | null> {
    const stats = this.#stats;
    const keyHex = hexOf(keyHash);
    const result = await this.#http.get("ac", keyHex, maxActionBodyBytes);
    if (!this.#arrived(result)) return null;
    const id = new TextDecoder().decode(result.bytes).trim();
    result.release();
    if (!hexId.test(id)) {
      stats.corrupt += 1;
      stats.downloadsFailed += 1;
      stats.lastError = `GET ac/${keyHex}: the body is not an id (64 lowercase hex digits); refused`;
      return null;
    }
    // An entry whose object cannot be had is a miss, not a dangling hit.
    if (!this.#store.has(id) && (await this.#fetchObject(id)) === null) return null;
    return id;
  }

  #receive<T>(store: () => T): T {
    this.#receiving = true;
    try {
      return store();
    } finally {
      this.#receiving = false;
    }
  }

  /**
   * The body of an object upload, read back from the local store when its turn
   * comes, and checked against its id on the way out: a file damaged since its
   * put must not be stored on the remote under the id (every other machine would
   * refuse it, so it would be a miss for the whole fleet). A large leaf streams
   * from its file through a hasher that fails the request at its end on a
   * mismatch (the server sees a body cut short and stores nothing); a small one
   * is hashed before it is sent. Read where it lies, not through get(): no copy
   * forward (an upload neither writes into the store nor rotates it), and no
   * verifyOnRead (whose ERR_CAS_CORRUPT would end the upload as "skipped";
   * damage is counted `corrupt` with it or without it).
   */
  #objectBody(upload: Upload): UploadBody | null {
    if (this.#store.closed) return null;
    let leaf: ReturnType<RemoteStoreAccess["leafBody"]>;
    try {
      leaf = this.#access.leafBody(upload.hex);
    } catch (error) {
      // A record too damaged to read (ERR_CAS_CORRUPT): refused as corrupt (http-cache.ts), never sent.
      if (error instanceof ArenaError && error.code === "ERR_CAS_CORRUPT") return damagedBody;
      throw error;
    }
    if (leaf === null) return null;
    if ("path" in leaf) return verifiedFileBody(leaf.path, leaf.length, upload.hex);
    const hash = this.#uploadHash;
    Bun.SHA256.hash(leaf.bytes, hash);
    parseIdInto(upload.hex, this.#uploadId);
    const damaged = !sameId(hash, 0, this.#uploadId, 0);
    return { body: leaf.bytes, length: leaf.bytes.length, damaged: () => damaged };
  }
}

/** The body of an object whose local bytes no longer hash to its id: never sent, counted corrupt. */
const damagedBody: UploadBody = { body: new Uint8Array(0), length: 0, damaged: () => true };

/** A large leaf's file as a request body that errors at its end unless the bytes hash to `idHex`. */
function verifiedFileBody(path: string, length: number, idHex: string): UploadBody {
  const hasher = new Bun.CryptoHasher("sha256");
  let mismatch = false;
  const verify = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      hasher.update(chunk);
      controller.enqueue(chunk);
    },
    flush(controller) {
      if (hasher.digest("hex") === idHex) return;
      mismatch = true;
      controller.error(new Error(`${path} does not hash to ${idHex}`));
    },
  });
  return { body: Bun.file(path).stream().pipeThrough(verify), length, damaged: () => mismatch };
}
