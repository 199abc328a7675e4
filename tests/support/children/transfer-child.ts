/**
 * Child process for tests/arena/transfer.test.ts: hands a view of an arena to an
 * API that transfers its buffer, checks the arena keeps working, closes the arena
 * (the last close: the file shrinks), then reads the transferred bytes again.
 * Prints a JSON TransferReport. Run in a child: if the read after close touched
 * unmapped memory, this process, not the test runner, would die.
 *
 *   bun transfer-child.ts PATH HOW CAPACITY
 *
 * HOW is "byte-stream" (ReadableStream type "bytes", controller.enqueue(view)),
 * "structured-clone" (structuredClone with a transfer list), "post-message"
 * (to a Worker, with a transfer list; the Worker reads it after the close) or
 * "transfer" (view.buffer.transfer()); "transfer-unnoticed" closes the arena
 * right after the transfer, before any view could notice it. Or "broken-unmap": the broken variant,
 * a Mapping made and unmapped as close() did before stolen windows were
 * replaced with zero pages (detach what is ours, munmap everything); reading
 * the transferred buffer then kills this process.
 */
import { join } from "node:path";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { Mapping } from "../../../lib/arena/mapping.ts";
import { closeFile, mapFile, openFile, truncateFile, unmap } from "../../../lib/native/native.ts";

export interface TransferReport {
  viewDetached: boolean;
  taken: string;
  /** What the arena reads at the same offset after the transfer. */
  bytesAfter: string;
  /** A new allocation written and read back after the transfer. */
  appendedAfter: string;
  /** The taken buffer still shares the arena's memory while it is open. */
  takenSeesWrite: string;
  /** Read after the arena was closed (and the file shrunk): zeros. */
  takenAfterClose: number[];
}

const [path, how, capacityText] = process.argv.slice(2) as [string, string, string];
const text = "hello, transfer";
const encode = (value: string) => new TextEncoder().encode(value);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** The arena's views are over ArrayBuffers (never shared ones); the type says ArrayBufferLike. */
type View = Uint8Array<ArrayBuffer>;

async function take(view: View): Promise<{ taken: Uint8Array; readAfterClose: () => Promise<number[]> }> {
  // A detached view reads as empty; Bun 1.3's Array.from throws on one instead.
  const local = (taken: Uint8Array) => ({ taken, readAfterClose: async () => ((taken.buffer as ArrayBuffer).detached ? [] : Array.from(taken)) });
  switch (how) {
    case "byte-stream": {
      let controller!: ReadableByteStreamController;
      const stream = new ReadableStream({ type: "bytes", start: (c) => void (controller = c) });
      controller.enqueue(view);
      const { value } = await stream.getReader().read();
      return local(value!);
    }
    case "structured-clone":
      return local(structuredClone(view, { transfer: [view.buffer] }));
    case "transfer":
    case "transfer-unnoticed": {
      const { byteOffset, length } = view;
      return local(new Uint8Array(view.buffer.transfer(), byteOffset, length));
    }
    case "post-message": {
      const worker = new Worker(join(import.meta.dir, "transfer-worker.ts"));
      const reply = () => new Promise<string | number[]>((resolve) => (worker.onmessage = (event) => resolve(event.data)));
      const replied = reply();
      worker.postMessage(view, [view.buffer]);
      const taken = encode((await replied) as string);
      return {
        taken,
        readAfterClose: async () => {
          const after = reply();
          worker.postMessage("read");
          const bytes = (await after) as number[];
          worker.terminate();
          return bytes;
        },
      };
    }
    default:
      throw new Error(`unknown HOW ${how}`);
  }
}

if (how === "broken-unmap") {
  const fd = openFile(path, { create: true });
  truncateFile(fd, 1 << 20, path);
  const mapping = new Mapping(mapFile(fd, 1 << 20, path), 1 << 20, path);
  const view = mapping.view(0, 16) as View;
  const taken = new Uint8Array(view.buffer.transfer(), 0, 16);
  unmap(mapping.address, mapping.lengthBytes, path); // the broken close: nothing left under `taken`
  closeFile(fd, path);
  process.stdout.write(`read after unmap: ${taken[0]}\n`); // never printed: SIGSEGV
  process.exit(0);
}

const arena = MappedFileRegionArena.create(path, { capacity: Number(capacityText) });
const offset = arena.append(encode(text));
const view = arena.bytes(offset, text.length) as View;
const { taken, readAfterClose } = await take(view);
if (how === "transfer-unnoticed") {
  const before = decode(taken);
  arena.close();
  process.stdout.write(JSON.stringify({ taken: before, takenAfterClose: await readAfterClose() }));
  process.exit(0);
}
const report: Partial<TransferReport> = { viewDetached: view.buffer.detached, taken: decode(taken) };
report.bytesAfter = decode(arena.bytes(offset, text.length));
const second = arena.append(encode("second"));
report.appendedAfter = decode(arena.bytes(second, 6));
arena.bytes(offset, 1)[0] = "H".charCodeAt(0);
report.takenSeesWrite = how === "post-message" ? "(in the Worker)" : decode(taken);
arena.close();
report.takenAfterClose = await readAfterClose();
process.stdout.write(JSON.stringify(report));
