// A Worker that opens the log named in its first message, appends one record, says "appended" and idles.
import { RecordLog } from "../../../../lib/index.ts";

declare const self: Worker;
self.onmessage = (event: MessageEvent<{ path: string; capacity: number; blockSize: number }>) => {
  const { path, capacity, blockSize } = event.data;
  const log = RecordLog.open(path, { capacity, blockSize });
  log.append(new TextEncoder().encode("from the worker"));
  postMessage("appended");
};
