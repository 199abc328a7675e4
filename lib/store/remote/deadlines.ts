/**
 * Every request to the remote ends by a deadline for the whole request: an
 * AbortSignal given to fetch, aborted when the time is up, so a server that
 * accepts and never answers, or trickles a body forever, cannot hold a request.
 *
 * The effect we want: that bound, at a cost a 1 KiB hit does not notice. Why the
 * obvious way fails: an AbortController and a timer armed and cleared per
 * request cost 2-12 µs of a ~55 µs loopback GET, against ~1 µs for one signal
 * shared by every request (bench/remote-breakdown.ts 1024, the "fixed cost"
 * rows, over several runs). The way chosen: a request whose
 * deadline is fixed when it starts (no body to wait for beyond one piece, below)
 * joins a shared deadline: every request that starts within one slot
 * (`timeoutMs / 8`) shares one controller, aborted by one timer at the slot's
 * end plus `timeoutMs`, so each gets between `timeoutMs` and 1.125 x `timeoutMs`;
 * whatever still uses the signal then is overdue, and what finished is not
 * touched. A request whose deadline grows with its body (a large download,
 * `timeoutMs` more per piece of it) has one of its own (Deadline). What it
 * gives up: a request may run up to an eighth past `timeoutMs`.
 *
 * The timers are unref'd: a pending fetch keeps the process alive by itself, so
 * a deadline never delays the exit of a process that has nothing left to do.
 */
import type { RemoteSettings } from "./options.ts";

/** What a request needs of its deadline. */
export interface RequestDeadline {
  readonly signal: AbortSignal;
  /** True once the time was up and the request was aborted. */
  readonly expired: boolean;
  /** Milliseconds from its start the request was allowed. */
  readonly allowedMs: number;
}

/** The bytes of body each `timeoutMs` of a download's deadline allows beyond the first. */
export function pieceBytes(settings: RemoteSettings): number {
  return Math.max(settings.memoryBufferBytes, 2 ** 20);
}

/** One slot of the shared deadline: a controller, and one timer that aborts it. */
class Slot implements RequestDeadline {
  readonly #controller = new AbortController();
  readonly signal = this.#controller.signal;
  readonly opensUntil: number;
  readonly allowedMs: number;
  expired = false;

  constructor(now: number, slotMs: number, timeoutMs: number) {
    this.opensUntil = now + slotMs;
    this.allowedMs = timeoutMs;
    const timer = setTimeout(() => {
      this.expired = true;
      this.#controller.abort();
    }, slotMs + timeoutMs);
    timer.unref();
  }
}

/** `timeoutMs` (and at most an eighth more) for a request that starts now: shared with the others that start in the same slot. */
export class SharedDeadline {
  readonly #timeoutMs: number;
  readonly #slotMs: number;
  #slot: Slot | null = null;

  constructor(settings: RemoteSettings) {
    this.#timeoutMs = settings.timeoutMs;
    this.#slotMs = Math.max(1, Math.ceil(settings.timeoutMs / 8));
  }

  /** The deadline of a request that starts now. */
  join(): RequestDeadline {
    const now = performance.now();
    let slot = this.#slot;
    if (slot === null || now >= slot.opensUntil) {
      slot = new Slot(now, this.#slotMs, this.#timeoutMs);
      this.#slot = slot;
    }
    return slot;
  }
}

/**
 * A request's own deadline: `timeoutMs` from its start, plus `timeoutMs` for
 * each `max(memoryBufferBytes, 1 MiB)` of body allowed so far. Never reset by
 * progress alone, so a trickling or endless body ends.
 */
export class Deadline implements RequestDeadline {
  readonly #controller = new AbortController();
  readonly #timeoutMs: number;
  readonly #pieceBytes: number;
  readonly #started = performance.now();
  #pieces = 0;
  #timer: ReturnType<typeof setTimeout>;
  expired = false;

  constructor(settings: RemoteSettings) {
    this.#timeoutMs = settings.timeoutMs;
    this.#pieceBytes = pieceBytes(settings);
    this.#timer = this.#arm();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get allowedMs(): number {
    return this.#timeoutMs * (1 + this.#pieces);
  }

  /** Moves the deadline out to what a body of `bytes` may take (never in). */
  allow(bytes: number): void {
    const pieces = Math.floor(bytes / this.#pieceBytes);
    if (pieces <= this.#pieces || this.expired) return;
    this.#pieces = pieces;
    clearTimeout(this.#timer);
    this.#timer = this.#arm();
  }

  clear(): void {
    clearTimeout(this.#timer);
  }

  #arm(): ReturnType<typeof setTimeout> {
    const dueMs = this.#started + this.allowedMs - performance.now();
    const timer = setTimeout(() => {
      this.expired = true;
      this.#controller.abort();
    }, Math.max(0, dueMs));
    timer.unref();
    return timer;
  }
}
