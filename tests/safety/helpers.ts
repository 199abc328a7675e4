/**
 * Shared by the safety tests: temp dirs, child processes, the stamp pattern and
 * the checker that proves a set of allocations disjoint, aligned and intact.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const bun = process.execPath;
export const childrenDir = join(import.meta.dir, "children");

export function tempDir(prefix: string, parent: string = tmpdir()): string {
  return mkdtempSync(join(parent, `mfa-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface ChildResult {
  exitCode: number | null;
  signalCode: string | number | null;
  stdout: string;
  stderr: string;
}

/** Runs a child script to completion. */
export async function runChild(script: string, args: string[], timeoutMs = 30_000): Promise<ChildResult> {
  const child = Bun.spawn([bun, join(childrenDir, script), ...args], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  await child.exited;
  clearTimeout(timer);
  return { exitCode: child.exitCode, signalCode: child.signalCode, stdout, stderr };
}

/** Reads lines from a child's stdout until `predicate` matches one; returns it. */
/** Just what waitForLine needs of a stream reader. */
export interface LineSource {
  read(): Promise<{ value?: Uint8Array | undefined; done?: boolean | undefined }>;
}

export async function waitForLine(
  reader: LineSource,
  predicate: (line: string) => boolean,
  state: { buffered: string },
  timeoutMs = 20_000,
): Promise<string> {
  const decoder = new TextDecoder();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const newline = state.buffered.indexOf("\n");
    if (newline !== -1) {
      const line = state.buffered.slice(0, newline);
      state.buffered = state.buffered.slice(newline + 1);
      if (predicate(line)) return line;
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for a line; have ${JSON.stringify(state.buffered)}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`child stdout ended before the expected line; have ${JSON.stringify(state.buffered)}`);
    state.buffered += decoder.decode(value, { stream: true });
  }
}

/** The byte at index `i` of the allocation stamped with (`tag`, `sequence`). */
export function stampByte(tag: number, sequence: number, i: number): number {
  return (tag * 131 + sequence * 31 + i * 7 + 1) & 0xff;
}

export function fillStamp(view: Uint8Array, tag: number, sequence: number): void {
  for (let i = 0; i < view.length; i++) view[i] = stampByte(tag, sequence, i);
}

export interface AllocationRecord {
  offset: number;
  size: number;
  tag: number;
  sequence: number;
}

/** One allocation per line: "offset size tag sequence". */
export function parseRecords(text: string): AllocationRecord[] {
  const records: AllocationRecord[] = [];
  for (const line of text.split("\n")) {
    const parts = line.trim().split(" ");
    if (parts.length !== 4) continue;
    const [offset, size, tag, sequence] = parts.map(Number) as [number, number, number, number];
    records.push({ offset, size, tag, sequence });
  }
  return records;
}

/**
 * Proves allocations disjoint, 8-aligned, inside [dataStart, end) and carrying
 * their stamps in `file` (the arena file's bytes). Returns the problems found
 * (at most `limit`), empty when all hold.
 */
export function checkAllocations(
  file: Uint8Array,
  records: AllocationRecord[],
  dataStart: number,
  end: number,
  limit = 10,
): string[] {
  const problems: string[] = [];
  const add = (problem: string) => {
    if (problems.length < limit) problems.push(problem);
  };
  const sorted = records.filter((r) => r.size > 0).sort((a, b) => a.offset - b.offset);
  let previous: AllocationRecord | undefined;
  for (const record of sorted) {
    if (record.offset % 8 !== 0) add(`offset ${record.offset} is not 8-aligned`);
    if (record.offset < dataStart || record.offset + record.size > end) {
      add(`[${record.offset}, +${record.size}) is outside [${dataStart}, ${end})`);
    }
    if (previous !== undefined && previous.offset + previous.size > record.offset) {
      add(`overlap: [${previous.offset}, +${previous.size}) tag ${previous.tag} and [${record.offset}, +${record.size}) tag ${record.tag}`);
    }
    previous = record;
    for (let i = 0; i < record.size; i++) {
      if (file[record.offset + i] !== stampByte(record.tag, record.sequence, i)) {
        add(`stamp of tag ${record.tag} seq ${record.sequence} at ${record.offset} broken at byte ${i}`);
        break;
      }
    }
  }
  return problems;
}

/** A small seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
