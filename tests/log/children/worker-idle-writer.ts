// A Worker that opens the log named in its first message, appends one record,
// closes the log if asked, says "appended" and idles.
import { RecordLog } from "../../../lib/index.ts";

declare const self: Worker;
self.onmessage = (event: MessageEvent<{ path: string; capacity: number; blockSize: number; close: boolean }>) => {
  const { path, capacity, blockSize, close } = event.data;
  const log = RecordLog.open(path, { capacity, blockSize });
  log.append(new TextEncoder().encode("from the worker"));
  if (close) log.close();
  postMessage("appended");
};
