// Child of tests/store/review3.test.ts. `spill-get DIR URL ID`: opens a store of DIR with the
// remote URL and downloads ID (a large object, spilled to DIR/tmp), printing "started"; the
// parent kills it (SIGKILL) while the body is held mid-way.
import { ContentStore } from "../../../lib/index.ts";

const [mode, directory, url, id] = process.argv.slice(2);
if (mode === "spill-get") {
  const store = ContentStore.open(directory!, { remote: { url: url!, timeoutMs: 120_000, memoryBufferBytes: 64 * 1024 } });
  console.log("started");
  await store.remote!.get(id!);
  console.log("finished"); // never reached: the parent kills this process first
} else {
  throw new Error(`unknown mode ${mode}`);
}
