/**
 * The two logs the crash tests run, behind one small interface: the real
 * RecordLog, and the length-word-last scheme it replaces (the broken variant).
 */
import { RecordLog } from "../../../lib/index.ts";
import { LengthLastLog } from "./length-last-log.ts";

export type LogKind = "record-log" | "length-last";
export const logCapacity = 256 * 1024 * 1024;
/** Small blocks, so a test's records span many of them. */
export const testBlockSize = 8192;

export interface TestLog {
  append(bytes: Uint8Array): number;
  appendBatch(records: Uint8Array[]): void;
  follow(signal: AbortSignal): AsyncIterable<{ bytes: Uint8Array }>;
  close(): void;
}

export function openTestLog(kind: LogKind, path: string): TestLog {
  if (kind === "record-log") {
    const log = RecordLog.open(path, { capacity: logCapacity, blockSize: testBlockSize });
    return {
      append: (bytes) => log.append(bytes),
      appendBatch: (records) => void log.appendBatch(records),
      follow: (signal) => log.follow(0, { signal }),
      close: () => log.close(),
    };
  }
  const log = new LengthLastLog(path, logCapacity);
  return {
    append: (bytes) => log.append(bytes),
    appendBatch: (records) => records.forEach((record) => log.append(record)),
    follow: (signal) => log.follow(signal),
    close: () => log.close(),
  };
}
