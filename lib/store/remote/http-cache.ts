/**
 * The wire: GET and PUT of `BASE/cas/<sha256 hex>` and `BASE/ac/<hex>`, the HTTP
 * protocol Bazel's remote caches speak (bazel-remote, BuildBuddy, buildbarn's
 * HTTP front, nginx with WebDAV PUT). Nothing else: no listing, no batching, no
 * server of our own.
 *
 * The effect we want: every request ends, whatever the server does, with a value
 * the caller can act on (a body, a miss, or a failure saying whether a retry could
 * help), and its effect is counted in RemoteStats. Why the obvious way fails: a
 * bare `await fetch(url)` waits forever on a server that accepts and never
 * answers, follows a redirect loop twenty times, and throws on a reset in the
 * middle of a body; a timeout re-armed for each piece of a body never fires on
 * a server that trickles bytes forever. The way chosen: every request carries an
 * AbortSignal armed with one deadline for the whole request, `timeoutMs` plus
 * `timeoutMs` more for each `max(memoryBufferBytes, 1 MiB)` of body (declared,
 * or received so far): a body must keep arriving at that minimum rate, and no
 * download outlives the deadline of `maxBytes` (deadlines.ts: most requests
 * share one signal, which costs a 1 KiB hit nothing it would notice; a large
 * body has one of its own). Redirects are not followed (a
 * cache that redirects is misconfigured; Bazel does not follow them either), and
 * every exception becomes a Failure. What it gives up: a cache behind a redirect
 * (an http -> https upgrade) must be given its final URL, and a link slower than
 * that minimum rate cannot move large objects.
 *
 * Bodies up to `memoryBufferBytes` are read whole (the fast path: one buffer,
 * handed over by Bun's HTTP client without a copy, then one SHA-256, as a plain
 * fetch would do); larger ones stream to a temporary file in the store's `tmp/`
 * directory (locked while in use, so the store's gc removes it only once its
 * writer is gone: temporary-files.ts), hashed as they arrive, so memory stays
 * bounded whatever the object's size. Every request asks for the body as stored
 * (`accept-encoding: identity`) and fetch never inflates one (`decompress:
 * false`): the size checks count the bytes that arrive, and a compressed body
 * fails its hash instead of growing in memory. At most maxRequestsInFlight
 * requests run at once (request-slots.ts); each joins its deadline once it
 * holds a slot. A GET starts on the shared deadline; when the response
 * declares a body large enough to earn more time (or no length), it is dropped
 * and asked again with a deadline of its own: one more round trip, for a body
 * of megabytes.
 */
import { closeSync, mkdirSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createTemporaryFile, type TemporaryFile } from "../temporary-files.ts";
import { Deadline, pieceBytes, SharedDeadline, type RequestDeadline } from "./deadlines.ts";
import type { RemoteSettings } from "./options.ts";
import type { RemoteStats } from "./remote-stats.ts";
import { RequestSlots } from "./request-slots.ts";
import { remoteTestHooks } from "./testing.ts";
import type { UploadBody } from "./uploader.ts";

export type CacheArea = "cas" | "ac";

/** A request that did not succeed: why, and whether trying again could help. */
export interface Failure {
  failed: true;
  retryable: boolean;
  reason: string;
}

/** A body that arrived whole: its bytes (in memory, or mapped from a temporary file) and their SHA-256. */
export interface Body {
  failed: false;
  bytes: Uint8Array;
  sha256: Uint8Array;
  /** Deletes the temporary file a large body was streamed to. Idempotent. */
  release(): void;
}

export const miss = "miss" as const;

const noRelease = () => {};

/**
 * Requests of one store in flight at most: well under the 256 Bun's fetch runs
 * at once (request-slots.ts), leaving room for the rest of the process.
 */
export const maxRequestsInFlight = 128;

/**
 * Asked of every server: the body as stored. A body encoded anyway is not
 * inflated either (fetch's `decompress: false`): its bytes are what the size
 * checks count, and they fail the hash. (Inflated by fetch, a 255 KiB gzip
 * answer became 256 MiB in memory before any check could see it.)
 */
const identityEncoding = { "accept-encoding": "identity" };

export class HttpCache {
  readonly #settings: RemoteSettings;
  readonly #stats: RemoteStats;
  /** The headers of a GET: the extra ones, and no content encoding. */
  readonly #getHeaders: Record<string, string>;
  readonly #putHeaders: Record<string, string>;
  /** Bun's fetch option for an extra certificate authority, or undefined. */
  readonly #tls: { ca: string } | undefined;
  /** Where large downloads spill: the store's `tmp/`. */
  readonly #spillDirectory: string;
  /** fetch's option: false, unless the broken variant that inflates bodies is on. */
  readonly #decompress = remoteTestHooks.inflateBodies;
  /** Requests in flight, at most maxRequestsInFlight. */
  readonly #slots = new RequestSlots(maxRequestsInFlight);
  /** The deadline of requests that cannot earn more time: most of them. */
  readonly #shared: SharedDeadline;
  /** A body below this size is read whole on the shared deadline (its deadline does not grow). */
  readonly #wholeBodyBytes: number;
  /** A body this size or larger earns more time (deadlines.ts). */
  readonly #pieceBytes: number;

  constructor(settings: RemoteSettings, stats: RemoteStats, spillDirectory: string) {
    this.#settings = settings;
    this.#shared = new SharedDeadline(settings);
    this.#pieceBytes = pieceBytes(settings);
    // Read whole: up to memoryBufferBytes, which is at most a piece; a whole piece earns more time.
    this.#wholeBodyBytes = Math.min(settings.memoryBufferBytes + 1, this.#pieceBytes);
    this.#spillDirectory = spillDirectory;
    this.#stats = stats;
    const encoding = this.#decompress ? null : identityEncoding;
    this.#getHeaders = { ...settings.headers, ...encoding };
    this.#putHeaders = { ...settings.headers, "content-type": "application/octet-stream", ...encoding };
    this.#tls = settings.ca === null ? undefined : { ca: settings.ca };
  }

  url(area: CacheArea, hex: string): string {
    return `${this.#settings.baseUrl}/${area}/${hex}`;
  }

  /**
   * GET `area/hex`: the body, `miss` on 404, or a Failure. A body larger than
   * `maxBytes` is refused as it arrives.
   */
  async get(area: CacheArea, hex: string, maxBytes: number): Promise<Body | typeof miss | Failure> {
    if (!this.#slots.tryTake() && !remoteTestHooks.unboundedRequests) await this.#slots.take();
    const deadline = this.#shared.join(); // once it can run: the deadline measures the server, not our queue
    try {
      const response = await this.#fetchGet(area, hex, deadline);
      const declared = declaredLength(response);
      if (response.status === 200 && declared < this.#wholeBodyBytes && declared <= maxBytes) {
        return this.#whole(await response.bytes(), area, hex, maxBytes); // the common case, without another await
      }
      if (response.ok && !(declared < this.#wholeBodyBytes) && !(declared > maxBytes)) {
        // Large (but allowed), or of no declared length: ask again on a deadline that grows with the body.
        await discard(response);
        return await this.#getOnOwnDeadline(area, hex, maxBytes);
      }
      return await this.#receive(response, declared, area, hex, maxBytes, null);
    } catch (error) {
      return this.#exception(error, deadline, "GET", area, hex);
    } finally {
      this.#slots.release();
    }
  }

  async #getOnOwnDeadline(area: CacheArea, hex: string, maxBytes: number): Promise<Body | typeof miss | Failure> {
    const deadline = new Deadline(this.#settings);
    try {
      const response = await this.#fetchGet(area, hex, deadline);
      return await this.#receive(response, declaredLength(response), area, hex, maxBytes, deadline);
    } catch (error) {
      return this.#exception(error, deadline, "GET", area, hex);
    } finally {
      deadline.clear();
    }
  }

  #fetchGet(area: CacheArea, hex: string, deadline: RequestDeadline): Promise<Response> {
    // No spread, and no options that say nothing: fetch reads each one it is given.
    if (this.#tls === undefined) {
      return fetch(this.url(area, hex), { headers: this.#getHeaders, decompress: this.#decompress, redirect: "manual", signal: deadline.signal });
    }
    return fetch(this.url(area, hex), { headers: this.#getHeaders, decompress: this.#decompress, redirect: "manual", signal: deadline.signal, tls: this.#tls });
  }

  /** A body read whole: checked against `maxBytes`, counted, hashed. */
  #whole(bytes: Uint8Array, area: CacheArea, hex: string, maxBytes: number): Body | Failure {
    if (bytes.length > maxBytes) return this.#fail(false, `GET ${area}/${hex}: the body is larger than ${maxBytes} bytes`);
    this.#stats.bytesDownloaded += bytes.length;
    const sha256 = new Uint8Array(32);
    Bun.SHA256.hash(bytes, sha256);
    return { failed: false, bytes, sha256, release: noRelease };
  }

  /**
   * A response's body (`declared` bytes long, NaN if not said), read whole or
   * streamed to a file: only with a deadline of its own, which it moves out as
   * the body grows.
   */
  async #receive(
    response: Response,
    declared: number,
    area: CacheArea,
    hex: string,
    maxBytes: number,
    deadline: Deadline | null,
  ): Promise<Body | typeof miss | Failure> {
    if (response.status === 404) {
      await discard(response);
      return miss;
    }
    const bad = this.#statusFailure(response, "GET", area, hex);
    if (bad !== null) {
      await discard(response);
      return bad;
    }
    if (declared > maxBytes) {
      await discard(response);
      return this.#fail(false, `GET ${area}/${hex}: the server declares ${declared} bytes, more than the ${maxBytes} allowed`);
    }
    if (declared > 0) deadline?.allow(declared);
    if (deadline === null || declared <= this.#settings.memoryBufferBytes) return this.#whole(await response.bytes(), area, hex, maxBytes);
    return await this.#stream(response, area, hex, maxBytes, deadline);
  }

  /**
   * PUT `area/hex` with `body` (bytes, or a file streamed from disk). Null when
   * the server took it. A body found `damaged` (not its id's bytes) is not sent,
   * or cut short, and counted `corrupt`: not retryable.
   */
  async put(area: CacheArea, hex: string, { body, length, damaged }: UploadBody): Promise<Failure | null> {
    if (damaged?.() === true) return this.#refuseDamaged(area, hex);
    if (!this.#slots.tryTake() && !remoteTestHooks.unboundedRequests) await this.#slots.take();
    // A body of a piece or more earns more time: a deadline of its own.
    const own = length >= this.#pieceBytes ? new Deadline(this.#settings) : null;
    own?.allow(length);
    const deadline = own ?? this.#shared.join();
    try {
      const response = await fetch(this.url(area, hex), {
        method: "PUT",
        body,
        headers: this.#putHeaders,
        decompress: this.#decompress,
        redirect: "manual",
        signal: deadline.signal,
        ...(this.#tls === undefined ? null : { tls: this.#tls }),
      });
      await discard(response);
      if (damaged?.() === true) return this.#refuseDamaged(area, hex); // the server cannot have kept a body cut short, but say so
      const bad = this.#statusFailure(response, "PUT", area, hex);
      if (bad !== null) return bad;
      this.#stats.bytesUploaded += length;
      return null;
    } catch (error) {
      if (damaged?.() === true) return this.#refuseDamaged(area, hex);
      return this.#exception(error, deadline, "PUT", area, hex);
    } finally {
      own?.clear();
      this.#slots.release();
    }
  }

  /** Streams a large body to a temporary file, hashing as it goes; the file is mapped, not read. */
  async #stream(response: Response, area: CacheArea, hex: string, maxBytes: number, deadline: Deadline): Promise<Body | Failure> {
    const reader = response.body!.getReader();
    let spill: TemporaryFile;
    try {
      makeSpillDirectory(this.#spillDirectory);
      // Locked while in use (temporary-files.ts): a gc, in any process or container, leaves it alone.
      spill = createTemporaryFile(join(this.#spillDirectory, "download"), 0o600);
    } catch (error) {
      await reader.cancel().catch(() => {});
      return this.#localFailure(area, hex, error);
    }
    const { fd, path } = spill;
    const release = () => rmSync(path, { force: true });
    const hasher = new Bun.CryptoHasher("sha256");
    let length = 0;
    try {
      // Bounded by maxBytes: each pass consumes at least one byte or ends.
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        length += value.length;
        deadline.allow(length);
        if (length > maxBytes) {
          await reader.cancel().catch(() => {});
          release();
          return this.#fail(false, `GET ${area}/${hex}: the body is larger than ${maxBytes} bytes`);
        }
        hasher.update(value);
        const written = writeAll(fd, value);
        if (written !== null) {
          await reader.cancel().catch(() => {});
          release();
          return this.#localFailure(area, hex, written);
        }
      }
      this.#stats.bytesDownloaded += length;
      // Mapped, not read: memory stays bounded. Mapped before the close that
      // drops the lock (a gc may remove the name after; the mapping stays), and
      // the file is ours alone (mode 0600), so nothing truncates it under the mapping.
      let bytes: Uint8Array;
      try {
        bytes = length === 0 ? new Uint8Array(0) : Bun.mmap(path, { shared: false });
      } catch (error) {
        release();
        return this.#localFailure(area, hex, error);
      }
      return { failed: false, bytes, sha256: new Uint8Array(hasher.digest()), release };
    } catch (error) {
      release();
      throw error;
    } finally {
      closeSync(fd);
    }
  }

  /** A download lost to the local disk (the spill folder): the remote did nothing wrong, so no network error is counted. */
  #localFailure(area: CacheArea, hex: string, error: unknown): Failure {
    return this.#fail(false, `GET ${area}/${hex}: the local ${this.#spillDirectory} could not take the body: ${error instanceof Error ? error.message : String(error)}`);
  }

  #refuseDamaged(area: CacheArea, hex: string): Failure {
    this.#stats.corrupt += 1;
    return this.#fail(false, `PUT ${area}/${hex}: the local bytes do not hash to the id (damaged since their put); not uploaded`);
  }

  #statusFailure(response: Response, method: string, area: CacheArea, hex: string): Failure | null {
    const status = response.status;
    if (status >= 200 && status < 300) return null;
    const what = `${method} ${area}/${hex}: HTTP ${status}`;
    if (status >= 300 && status < 400) {
      this.#stats.redirects += 1;
      return this.#fail(false, `${what} (a redirect, not followed: give the cache's final URL)`);
    }
    if (status >= 500) {
      this.#stats.serverErrors += 1;
      return this.#fail(true, what);
    }
    return this.#fail(status === 408 || status === 429, what);
  }

  #exception(error: unknown, deadline: RequestDeadline, method: string, area: CacheArea, hex: string): Failure {
    if (deadline.expired) {
      this.#stats.timeouts += 1;
      return this.#fail(true, `${method} ${area}/${hex}: no answer within ${deadline.allowedMs} ms (its whole deadline)`);
    }
    this.#stats.networkErrors += 1;
    return this.#fail(true, `${method} ${area}/${hex}: ${error instanceof Error ? error.message : String(error)}`);
  }

  #fail(retryable: boolean, reason: string): Failure {
    this.#stats.lastError = reason;
    return { failed: true, retryable, reason };
  }
}

/** Bodies up to this size that we do not want are read and dropped rather than cancelled. */
const discardReadBytes = 64 * 1024;

/**
 * Drops a body we do not want. A small one is read (the connection is kept
 * either way, and reading costs ~20 µs of CPU less per request than making
 * `response.body` a stream to cancel it): at most its declared length, as fetch
 * is asked not to inflate anything. A large, unsized or encoded one is cancelled,
 * so it is never buffered.
 */
async function discard(response: Response): Promise<void> {
  try {
    if (declaredLength(response) <= discardReadBytes && !response.headers.has("content-encoding")) await response.arrayBuffer();
    else await response.body?.cancel();
  } catch {
    // The body failed or was already gone: nothing to drop.
  }
}

/** The response's Content-Length, or NaN when it has none. */
function declaredLength(response: Response): number {
  return Number(response.headers.get("content-length") ?? NaN);
}

/** Writes all of `bytes` to `fd`; the error if the disk refused (full, I/O), else null. */
function writeAll(fd: number, bytes: Uint8Array): unknown {
  try {
    for (let written = 0; written < bytes.length; ) {
      const count = writeSync(fd, bytes, written, bytes.length - written);
      if (count <= 0) return new Error("a write made no progress");
      written += count;
    }
    return null;
  } catch (error) {
    return error;
  }
}

/**
 * The store's tmp/ directory, made if missing. Not recursive: the store's own
 * directory must be there, so a download into a store whose directory was
 * deleted fails (counted) rather than make it again.
 */
function makeSpillDirectory(path: string): void {
  try {
    mkdirSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
}
