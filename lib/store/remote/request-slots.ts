/**
 * At most `limit` requests of one store in flight at once; the others wait here,
 * first come first served.
 *
 * Bun's fetch runs at most 256 requests at once (BUN_CONFIG_MAX_HTTP_REQUESTS)
 * and queues the rest inside its client, where our deadline (which starts when
 * the request is made) would keep running: a burst of reads from a slow but
 * healthy server timed out in that queue. Waiting here instead, a request joins
 * its deadline only once it holds a slot, so the deadline measures the server,
 * not our own queue. Taking a free slot allocates nothing and does not await.
 */
import { Fifo } from "./fifo.ts";

export class RequestSlots {
  readonly #limit: number;
  #taken = 0;
  readonly #waiting = new Fifo<() => void>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Takes a slot if one is free now. */
  tryTake(): boolean {
    if (this.#taken >= this.#limit) return false;
    this.#taken += 1;
    return true;
  }

  /** Resolves once a slot is the caller's (handed over by release()). */
  take(): Promise<void> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Gives the slot to the next waiter, or frees it. */
  release(): void {
    const next = this.#waiting.shift();
    if (next === undefined) this.#taken -= 1;
    else next();
  }
}
