/**
 * Child for tests/arena/review4/views.test.ts: takes a 5-byte view of an arena
 * and hands it to a standard API that copies (not transfers) its buffer, then
 * prints one JSON line. Run in a child: a copy that reads past the end of the
 * file dies of SIGBUS, and that must kill this process, not the test runner.
 *
 *   bun view-copy-child.ts PATH HOW
 *
 * HOW: "structured-clone" (structuredClone(view) on a read-only arena),
 * "post-message" (worker.postMessage(view) on a read-only arena, no transfer
 * list), "whole-buffer" (new Uint8Array(view.buffer) on a read-only arena, read
 * to its end), "writer-structured-clone" (structuredClone(view) on a writer).
 */
import { MappedFileRegionArena } from "../../../../lib/index.ts";

const [path, how] = process.argv.slice(2) as [string, string];
const text = new TextEncoder().encode("hello");
const capacity = 64 * 1024 * 1024;

// A closed arena: its last close shrank the file to its bump pointer (40 bytes).
let offset: number;
{
  using writer = MappedFileRegionArena.create(path, { capacity });
  offset = writer.append(text);
}

if (how === "writer-structured-clone") {
  using writer = MappedFileRegionArena.create(path, { capacity });
  const copy = structuredClone(writer.bytes(offset, text.length));
  console.log(JSON.stringify({ copied: new TextDecoder().decode(copy), copyBufferBytes: copy.buffer.byteLength }));
  process.exit(0);
}

using reader = MappedFileRegionArena.openReadOnly(path);
const view = reader.bytes(offset, text.length);
if (how === "structured-clone") {
  const copy = structuredClone(view);
  console.log(JSON.stringify({ copied: new TextDecoder().decode(copy) }));
} else if (how === "whole-buffer") {
  const whole = new Uint8Array(view.buffer);
  let sum = 0;
  for (let at = 0; at < whole.length; at += 4096) sum += whole[at]!;
  console.log(JSON.stringify({ copied: new TextDecoder().decode(view), sum }));
} else if (how === "post-message") {
  const worker = new Worker(URL.createObjectURL(new Blob(["self.onmessage = (e) => { postMessage(new TextDecoder().decode(e.data)); };"])));
  const copied = await new Promise<string>((resolve) => {
    worker.onmessage = (event) => resolve(event.data as string);
    worker.postMessage(view);
  });
  worker.terminate();
  console.log(JSON.stringify({ copied }));
} else {
  throw new Error(`unknown HOW ${how}`);
}
