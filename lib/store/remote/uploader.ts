/**
 * Write-behind: put() stays local and returns at local speed; the upload is a
 * line in a queue that drains in the background, at most `concurrency` at once,
 * each retried with exponential backoff when a retry could help.
 *
 * The effect we want: nothing the remote does (down, slow, 5xx, a reset, a
 * redirect loop) slows or fails a local put, and what it does is counted. Why the
 * obvious way fails: awaiting the upload inside put makes every put as slow as
 * the network and as fragile as the server; firing a fetch per put floods a slow
 * server with thousands of sockets and memory with thousands of copies. The way
 * chosen: the queue holds only ids, 32 bytes each in one buffer (id-queue.ts: a
 * put allocates nothing for its upload; the bytes are read back from the local
 * store when their turn comes, streamed from disk for large objects), the queue is
 * bounded (`maxPending`; beyond it a put is not uploaded and `uploadsDropped`
 * says so), and the drain runs when the event loop is free. What it gives up:
 * an upload can be lost (queue full, given up, process exit before flush); the
 * object stays local and `cas push` uploads a whole store again. An object
 * rotated out of the local store before its turn is skipped.
 */
import type { RemoteSettings } from "./options.ts";
import type { RemoteStats } from "./remote-stats.ts";
import type { CacheArea, HttpCache } from "./http-cache.ts";
import { IdQueue } from "./id-queue.ts";

export interface Upload {
  area: CacheArea;
  /** The object's id, or the action key's SHA-256. */
  hex: string;
  /** The body of an action entry (the id as hex); objects are read when sent. */
  value: string | null;
  attempts: number;
}

/** What to send for an object, and (once sent or failed) whether its bytes turned out not to match its id. */
export interface UploadBody {
  body: Uint8Array | Blob | ReadableStream<Uint8Array>;
  length: number;
  damaged?: () => boolean;
}

/** What to send for an object: bytes or a stream, or null when it is gone or not uploadable. */
export type BodySource = (upload: Upload) => UploadBody | null;

export class Uploader {
  readonly #http: HttpCache;
  readonly #settings: RemoteSettings;
  readonly #stats: RemoteStats;
  readonly #bodyOf: BodySource;
  /** Objects put and waiting for their first attempt: the hot path's queue. */
  readonly #objects = new IdQueue();
  /** Other waiting uploads (action entries, push, retries); `#head` is the next one (an index, so taking one is O(1)). */
  #queue: Upload[] = [];
  #head = 0;
  #active = 0;
  #retryTimers = new Set<ReturnType<typeof setTimeout>>();
  #scheduled = false;
  #closed = false;
  #idleWaiters: (() => void)[] = [];

  constructor(http: HttpCache, settings: RemoteSettings, stats: RemoteStats, bodyOf: BodySource) {
    this.#http = http;
    this.#settings = settings;
    this.#stats = stats;
    this.#bodyOf = bodyOf;
  }

  /** The hot path, called by put: the id's 32 bytes copied into the queue, and a drain scheduled once per burst. */
  enqueueObject(id: Uint8Array): void {
    if (!this.#admit()) return;
    this.#objects.push(id);
    this.#schedule();
  }

  enqueue(area: CacheArea, hex: string, value: string | null): void {
    if (!this.#admit()) return;
    this.#queue.push({ area, hex, value, attempts: 0 });
    this.#schedule();
  }

  /** Counts one more pending upload, unless closed or `maxPending` are waiting (then it is dropped, and counted). */
  #admit(): boolean {
    const stats = this.#stats;
    if (this.#closed) return false;
    if (stats.pending >= this.#settings.maxPending) {
      stats.uploadsDropped += 1;
      return false;
    }
    stats.pending += 1;
    return true;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#drain);
  }

  /** Resolves when nothing is pending (true), or after `timeoutMs` (false). */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.#stats.pending === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = Number.isFinite(timeoutMs) ? setTimeout(() => resolve(false), timeoutMs) : undefined;
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Stops: what is still pending is counted as abandoned. In-flight requests finish on their own. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#retryTimers) clearTimeout(timer);
    this.#retryTimers.clear();
    const stats = this.#stats;
    stats.uploadsAbandoned += stats.pending;
    stats.pending = 0;
    this.#queue = [];
    this.#head = 0;
    this.#objects.clear();
    this.#wakeIdle();
  }

  readonly #drain = (): void => {
    this.#scheduled = false;
    // Bounded by the queues: each pass takes one upload off one of them.
    while (!this.#closed && this.#active < this.#settings.concurrency) {
      const upload = this.#next();
      if (upload === undefined) break;
      this.#active += 1;
      void this.#send(upload);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  };

  /** The next upload to start: retries, entries and pushed objects first, then objects put. */
  #next(): Upload | undefined {
    if (this.#head < this.#queue.length) {
      const upload = this.#queue[this.#head]!;
      this.#head += 1;
      return upload;
    }
    const hex = this.#objects.shift();
    return hex === undefined ? undefined : { area: "cas", hex, value: null, attempts: 0 };
  }

  async #send(upload: Upload): Promise<void> {
    let settled = true;
    try {
      let source: ReturnType<BodySource>;
      try {
        source = upload.value === null ? this.#bodyOf(upload) : { body: new TextEncoder().encode(upload.value), length: upload.value.length };
      } catch (error) {
        // The local store could not read it (closed meanwhile, or damaged): not the remote's fault.
        this.#stats.uploadsSkipped += 1;
        this.#stats.lastError = `upload of ${upload.area}/${upload.hex}: ${error instanceof Error ? error.message : String(error)}`;
        return;
      }
      if (source === null) {
        this.#stats.uploadsSkipped += 1;
        return;
      }
      upload.attempts += 1;
      const failure = await this.#http.put(upload.area, upload.hex, source);
      if (failure === null) {
        this.#stats.uploaded += 1;
        return;
      }
      if (!failure.retryable || upload.attempts >= this.#settings.maxAttempts || this.#closed) {
        this.#stats.uploadsFailed += 1;
        return;
      }
      settled = false;
      this.#retryLater(upload);
    } finally {
      this.#active -= 1;
      if (settled && !this.#closed) this.#stats.pending -= 1;
      if (!this.#closed) this.#drain();
      if (this.#stats.pending === 0) this.#wakeIdle();
    }
  }

  #retryLater(upload: Upload): void {
    this.#stats.uploadRetries += 1;
    const base = this.#settings.retryDelayMs * 2 ** (upload.attempts - 1);
    const delayMs = base * (0.5 + Math.random()); // jitter: a fleet does not retry in lockstep
    const timer = setTimeout(() => {
      this.#retryTimers.delete(timer);
      if (this.#closed) return;
      this.#queue.push(upload);
      this.#drain();
    }, delayMs);
    this.#retryTimers.add(timer);
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
