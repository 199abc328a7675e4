// The uploader's queue of ids: first in, first out, across growth and compaction.
import { expect, test } from "bun:test";
import { IdQueue } from "../../../lib/store/remote/id-queue.ts";

const idOf = (index: number) => {
  const id = new Uint8Array(32);
  new DataView(id.buffer).setUint32(0, index);
  id[31] = index & 0xff;
  return id;
};
const hexOf = (index: number) => Buffer.from(idOf(index)).toString("hex");

test("ids come out in the order they went in, through growth and compaction", () => {
  const queue = new IdQueue();
  const expected: number[] = [];
  let next = 0;
  // Bursts larger and smaller than the buffer, taken partly: grows, then compacts in place.
  for (const [add, take] of [[300, 100], [1000, 1100], [50, 40], [5000, 4000], [10, 1120]]) {
    for (let count = 0; count < add!; count++) {
      queue.push(idOf(next));
      expected.push(next++);
    }
    for (let count = 0; count < take!; count++) expect(queue.shift()).toBe(hexOf(expected.shift()!));
    expect(queue.length).toBe(expected.length);
  }
  expect(queue.length).toBe(0);
  expect(queue.shift()).toBeUndefined();
  queue.push(idOf(7));
  queue.clear();
  expect(queue.length).toBe(0);
  expect(queue.shift()).toBeUndefined();
});

test("push copies the id: the caller may reuse its buffer", () => {
  const queue = new IdQueue();
  const scratch = idOf(1);
  queue.push(scratch);
  scratch.fill(0xee);
  expect(queue.shift()).toBe(hexOf(1));
});
