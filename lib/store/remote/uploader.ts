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
 *
 * The drain is a loop, never a recursion: an upload that ends before it starts
 * (its object is gone, or its body cannot be read) is settled inside the loop,
 * and a send that ends calls the drain again only after an await, on a fresh
 * stack. (A send that called the next send from its own `finally` overflowed the
 * stack after a few thousand skipped uploads in a row, and lost every upload
 * after that.) An action entry waits until every object put before it has
 * settled: a remote never holds an entry for an object it has not been sent yet
 * (Bazel uploads the blobs before the action result that names them).
 */
import type { RemoteSettings } from "./options.ts";
import type { RemoteStats } from "./remote-stats.ts";
import type { CacheArea, HttpCache } from "./http-cache.ts";
import { Fifo } from "./fifo.ts";
import { IdQueue } from "./id-queue.ts";
import { remoteTestHooks } from "./testing.ts";

export interface Upload {
  area: CacheArea;
  /** The object's id, or the action key's SHA-256. */
  hex: string;
  /** The body of an action entry (the id as hex); objects are read when sent. */
  value: string | null;
  attempts: number;
  /** An object put: its place in the order of puts (for the entries behind it); -1 for the others. */
  order: number;
  /** An action entry: the number of objects put before it, which must settle before it is sent. */
  after: number;
}

/** What to send for an object, and (once sent or failed) whether its bytes turned out not to match its id. */
export interface UploadBody {
  body: Uint8Array | Blob | ReadableStream<Uint8Array>;
  length: number;
  damaged?: () => boolean;
}

/** What to send for an object: bytes or a stream, or null when it is gone or not uploadable. */
export type BodySource = (upload: Upload) => UploadBody | null;

/** A flush waiting for the queue to empty: called with whether every upload it waited for is done. */
type IdleWaiter = (done: boolean) => void;

export class Uploader {
  readonly #http: HttpCache;
  readonly #settings: RemoteSettings;
  readonly #stats: RemoteStats;
  readonly #bodyOf: BodySource;
  /** Objects put and waiting for their first attempt: the hot path's queue. */
  readonly #objects = new IdQueue();
  /** Objects ever added to #objects, and taken from it: an object's `order` is its place in that sequence. */
  #objectsQueued = 0;
  #objectsTaken = 0;
  /** Objects taken and not settled yet (in flight or waiting for a retry), in the order taken: the first is the oldest. */
  readonly #unsettledObjects = new Set<number>();
  /** Other waiting uploads: action entries, and objects of push. */
  readonly #queue = new Fifo<Upload>();
  /** Uploads waiting for their next attempt, served first. */
  readonly #retries = new Fifo<Upload>();
  #active = 0;
  #retryTimers = new Set<ReturnType<typeof setTimeout>>();
  #scheduled = false;
  #closed = false;
  /** Uploads ended by a local error (their body could not be read) or abandoned at close: a flush that saw one is false. */
  #lost = 0;
  readonly #idleWaiters = new Set<IdleWaiter>();

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
    this.#objectsQueued += 1;
    this.#schedule();
  }

  /** An action entry (`value` its body) or a pushed object (`value` null). An entry waits for the objects put before it. */
  enqueue(area: CacheArea, hex: string, value: string | null): void {
    if (!this.#admit()) return;
    this.#queue.push({ area, hex, value, attempts: 0, order: -1, after: area === "ac" ? this.#objectsQueued : 0 });
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

  /**
   * Resolves true when nothing is pending and every upload it waited for
   * reached the remote; false when one did not (the remote refused it after its
   * retries, it was abandoned by close(), or a local error ended it before it was
   * sent: each counted, lastError says the last), or after `timeoutMs` (Infinity:
   * no bound; the caller checked it). So `await flush()` answers "is what I put
   * on the remote now?", the question a CI job asks before it ends.
   */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(this.#stats.pending === 0 && this.#stats.uploadsAbandoned === 0);
    if (this.#stats.pending === 0) return Promise.resolve(true);
    const lostBefore = this.#lost;
    const failedBefore = this.#stats.uploadsFailed;
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter: IdleWaiter = (done) => {
        this.#idleWaiters.delete(waiter); // on either path: a flush that timed out leaves nothing behind
        clearTimeout(timer);
        resolve(done && this.#lost === lostBefore && this.#stats.uploadsFailed === failedBefore);
      };
      this.#idleWaiters.add(waiter);
      // Beyond setTimeout's range (~24.8 days) a timer fires at once: treat as no bound.
      if (timeoutMs <= maxTimerMs) timer = setTimeout(waiter, timeoutMs, false);
    });
  }

  /**
   * Stops: the uploads still waiting are counted as abandoned; those in flight
   * finish on their own and count themselves (uploaded or failed), so each
   * upload is counted once. A flush still waiting resolves false.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#retryTimers) clearTimeout(timer);
    this.#retryTimers.clear();
    const stats = this.#stats;
    const waiting = stats.pending - this.#active;
    stats.uploadsAbandoned += waiting;
    stats.pending = this.#active;
    this.#lost += waiting;
    this.#queue.clear();
    this.#retries.clear();
    this.#objects.clear();
    this.#unsettledObjects.clear();
    this.#wakeIdle(false);
  }

  readonly #drain = (): void => {
    this.#scheduled = false;
    // Bounded by the queues: each pass takes one upload off one of them. An
    // upload that ends here (no body) is settled here, not by a call back into the drain.
    while (!this.#closed && this.#active < this.#settings.concurrency) {
      const upload = this.#next();
      if (upload === undefined) break;
      if (remoteTestHooks.recursiveDrain) {
        this.#active += 1;
        void this.#sendAsBefore(upload);
        continue;
      }
      const body = this.#bodyFor(upload);
      if (body === null) {
        this.#settle(upload);
        continue;
      }
      this.#active += 1;
      void this.#send(upload, body);
    }
  };

  /**
   * The next upload to start: retries first, then the entry or pushed object at
   * the head of #queue unless it is an entry whose objects have not all settled,
   * then objects put.
   */
  #next(): Upload | undefined {
    const retry = this.#retries.shift();
    if (retry !== undefined) return retry;
    const entry = this.#queue.peek();
    if (entry !== undefined && this.#objectsSettledBefore(entry.after)) return this.#queue.shift();
    const hex = this.#objects.shift();
    if (hex === undefined) return undefined;
    const order = this.#objectsTaken++;
    this.#unsettledObjects.add(order);
    return { area: "cas", hex, value: null, attempts: 0, order, after: 0 };
  }

  /** Whether the first `count` objects put have all settled (uploaded, failed, skipped). */
  #objectsSettledBefore(count: number): boolean {
    if (this.#objectsTaken < count) return false;
    if (this.#unsettledObjects.size === 0) return true;
    const oldest: number = this.#unsettledObjects.values().next().value!; // a Set keeps the order of insertion
    return oldest >= count;
  }

  /** The body to send, or null when the upload ends here: its object is gone (skipped), or could not be read (counted lost). */
  #bodyFor(upload: Upload): UploadBody | null {
    if (upload.value !== null) return { body: new TextEncoder().encode(upload.value), length: upload.value.length };
    try {
      const source = this.#bodyOf(upload);
      if (source === null) this.#stats.uploadsSkipped += 1;
      return source;
    } catch (error) {
      // The local store could not read it: not the remote's fault, and not sent.
      this.#stats.uploadsSkipped += 1;
      this.#stats.lastError = `upload of ${upload.area}/${upload.hex}: ${error instanceof Error ? error.message : String(error)}`;
      this.#lost += 1;
      return null;
    }
  }

  async #send(upload: Upload, body: UploadBody): Promise<void> {
    let retry = false;
    try {
      upload.attempts += 1;
      const failure = await this.#http.put(upload.area, upload.hex, body);
      if (failure === null) this.#stats.uploaded += 1;
      else if (!failure.retryable || upload.attempts >= this.#settings.maxAttempts || this.#closed) this.#stats.uploadsFailed += 1;
      else retry = true;
    } catch (error) {
      // put() turns every failure into a Failure; this is a bug's last line of defence, so that nothing escapes the `void`.
      this.#stats.uploadsFailed += 1;
      this.#stats.lastError = `upload of ${upload.area}/${upload.hex}: ${String(error)}`;
    }
    // After an await: the drain below starts on a fresh stack.
    this.#active -= 1;
    if (retry) this.#retryLater(upload);
    else this.#settle(upload);
    this.#drain();
  }

  /**
   * BROKEN on purpose (remoteTestHooks.recursiveDrain): the shape this file had,
   * in which an upload that ended before its first await (no body) called the
   * drain from its own frame, and so the next upload's send, on the same stack.
   */
  async #sendAsBefore(upload: Upload): Promise<void> {
    const body = this.#bodyFor(upload);
    if (body !== null) return this.#send(upload, body);
    this.#active -= 1;
    this.#settle(upload);
    this.#drain();
  }

  /** An upload ended (sent, given up, skipped): no longer pending. */
  #settle(upload: Upload): void {
    if (upload.order >= 0) this.#unsettledObjects.delete(upload.order);
    const stats = this.#stats;
    if (stats.pending > 0) stats.pending -= 1;
    if (stats.pending === 0) this.#wakeIdle(true);
  }

  #retryLater(upload: Upload): void {
    this.#stats.uploadRetries += 1;
    const base = this.#settings.retryDelayMs * 2 ** (upload.attempts - 1);
    const delayMs = Math.min(maxTimerMs, base * (0.5 + Math.random())); // jitter: a fleet does not retry in lockstep
    const timer = setTimeout(() => {
      this.#retryTimers.delete(timer);
      if (this.#closed) return;
      this.#retries.push(upload);
      this.#drain();
    }, delayMs);
    this.#retryTimers.add(timer);
  }

  #wakeIdle(done: boolean): void {
    for (const wake of [...this.#idleWaiters]) wake(done);
  }
}

/** The longest delay setTimeout keeps (2^31 - 1 ms); a longer one fires at once. */
const maxTimerMs = 2 ** 31 - 1;
