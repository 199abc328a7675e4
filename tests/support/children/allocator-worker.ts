/**
 * A Bun Worker that allocates concurrently with other Workers and processes (see
 * allocate-core.ts). Receives an AllocateJob, posts { records }, then keeps its
 * arenas open until told "close", and posts "closed".
 */
import { runAllocateJob, type AllocateJob } from "./allocate-core.ts";
import type { MappedFileRegionArena } from "../../../lib/index.ts";

declare const self: Worker;
let arenas: MappedFileRegionArena[] = [];
self.onmessage = (event: MessageEvent) => {
  if (event.data === "close") {
    for (const arena of arenas) arena.close();
    self.postMessage("closed");
    return;
  }
  try {
    const result = runAllocateJob(event.data as AllocateJob);
    arenas = result.arenas;
    self.postMessage({ records: result.records });
  } catch (error) {
    self.postMessage({ error: String(error) });
  }
};
