/**
 * Child for close-order.test.ts. Two roles:
 *
 *   bun close-window.ts holder PATH   opens the arena, prints "open", waits for
 *                                     PATH.go to appear, closes, creates PATH.closed.
 *   bun close-window.ts victim PATH   opens the arena (then creates PATH.victim-open), lets a consumer take its
 *                                     buffer (transfer()), waits for a holder to be
 *                                     open, then closes. Inside the close, at its
 *                                     first detach (transfer(0), hooked), it tells
 *                                     the holder to close and waits for it, then
 *                                     reads the taken buffer past the used size.
 *
 * The victim's close has already dropped its in-use locks when it detaches, so the
 * holder's close is the last one and shrinks the file; the taken buffer is not yet
 * replaced by zero pages, and reading it past the new end is SIGBUS.
 */
import { existsSync, writeFileSync } from "node:fs";
import { MappedFileRegionArena } from "../../../lib/index.ts";

const [role, path] = process.argv.slice(2) as [string, string];
const capacity = 1 << 20;

function waitFor(file: string): boolean {
  const deadline = Date.now() + 20_000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) return false;
    Bun.sleepSync(5);
  }
  return true;
}

if (role === "holder") {
  const arena = MappedFileRegionArena.create(path, { capacity });
  console.log("open");
  waitFor(`${path}.go`);
  arena.close();
  writeFileSync(`${path}.closed`, "");
} else {
  const arena = MappedFileRegionArena.create(path, { capacity });
  writeFileSync(`${path}.victim-open`, "");
  const view = arena.allocate(16);
  const taken = new Uint8Array((view.buffer as ArrayBuffer).transfer());
  arena.bytes(0, 8); // a fresh buffer, which close detaches with transfer(0)
  waitFor(`${path}.holder-open`);
  const transfer = ArrayBuffer.prototype.transfer;
  let fired = false;
  ArrayBuffer.prototype.transfer = function (this: ArrayBuffer, length?: number) {
    if (!fired && length === 0) {
      fired = true;
      writeFileSync(`${path}.go`, "");
      const holderClosed = waitFor(`${path}.closed`);
      console.log(JSON.stringify({ holderClosed }));
      console.log(JSON.stringify({ readPastUsed: taken[taken.length - 1] })); // its last page: far past the used size
    }
    return transfer.call(this, length);
  };
  arena.close();
  console.log(JSON.stringify({ survived: true }));
}
