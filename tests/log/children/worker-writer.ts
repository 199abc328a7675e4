/**
 * A Worker that appends to a log: workerData { path, writer, records }. Each
 * Worker opens its own RecordLog, so it is a writer of its own (its own writer
 * slot, locked through its own open file description). Posts "done" when closed.
 */
import { parentPort, workerData } from "node:worker_threads";
import { RecordLog } from "../../../lib/index.ts";
import { makePayload } from "../support/payloads.ts";
import { logCapacity } from "../support/log-kinds.ts";

const { path, writer, records } = workerData as { path: string; writer: number; records: number };
const log = RecordLog.open(path, { capacity: logCapacity });
for (let sequence = 0; sequence < records; sequence++) log.append(makePayload(writer, sequence));
log.close();
parentPort!.postMessage("done");
