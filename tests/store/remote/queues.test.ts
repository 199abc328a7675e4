// The uploader's list of entries and retries (Fifo) and the store's request slots
// (RequestSlots, review2 finding 3): first in, first out, and never more slots taken than allowed.
import { expect, test } from "bun:test";
import { Fifo } from "../../../lib/store/remote/fifo.ts";
import { RequestSlots } from "../../../lib/store/remote/request-slots.ts";

test("Fifo: items come out in the order they went in, through compaction, against an array model", () => {
  const fifo = new Fifo<number>();
  const model: number[] = [];
  let next = 0;
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  // Bounded: 20000 operations.
  for (let step = 0; step < 20_000; step++) {
    const roll = random();
    if (roll < 0.52) {
      fifo.push(next);
      model.push(next++);
    } else if (roll < 0.9999) {
      expect(fifo.peek()).toBe(model[0]);
      expect(fifo.shift()).toBe(model.shift());
    } else {
      fifo.clear();
      model.length = 0;
    }
    expect(fifo.length).toBe(model.length);
  }
  expect(next).toBeGreaterThan(5000); // enough taken between clears to compact (past 1024 taken)
});

test("RequestSlots: at most `limit` held at once, waiters served in order as slots are released", async () => {
  const slots = new RequestSlots(2);
  expect(slots.tryTake()).toBe(true);
  expect(slots.tryTake()).toBe(true);
  expect(slots.tryTake()).toBe(false);
  const served: number[] = [];
  const waiting = [1, 2, 3].map((index) => slots.take().then(() => served.push(index)));
  await Bun.sleep(0);
  expect(served).toEqual([]);
  slots.release(); // handed to the first waiter: still two held
  await waiting[0];
  expect(served).toEqual([1]);
  expect(slots.tryTake()).toBe(false);
  slots.release();
  slots.release();
  await Promise.all(waiting.slice(1));
  expect(served).toEqual([1, 2, 3]);
  expect(slots.tryTake()).toBe(false); // the waiters hold both
  slots.release();
  slots.release();
  expect(slots.tryTake()).toBe(true);
  expect(slots.tryTake()).toBe(true);
  expect(slots.tryTake()).toBe(false);
});
