// Small helpers of the review scenario children (tests/trie/children/review*-scenarios.ts).
import { closeSync, openSync, writeSync } from "node:fs";

/** What a call threw, as a test compares it: "ok", or the error's class and code. */
export function outcome(action: () => unknown): string {
  try {
    action();
    return "ok";
  } catch (error) {
    const code = (error as { code?: string }).code;
    return `${(error as Error)?.constructor?.name ?? typeof error}${code ? ` ${code}` : ""}`;
  }
}

/** Writes `bytes` at file offset `at` of `path` (through the file, not a mapping). */
export function poke(path: string, at: number, bytes: Uint8Array): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    closeSync(fd);
  }
}

/** `value` as 8 little-endian bytes. */
export function int64(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigInt64(0, BigInt(value), true);
  return bytes;
}
