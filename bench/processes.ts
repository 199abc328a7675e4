/**
 * Issue 4, item 4 and the block allocator's goal: two processes appending 64-byte
 * records to one arena at once, against one process alone; aggregate records/s.
 * Rounds alternate one and two processes; each child appends the same count, so
 * two processes do twice the work. Medians of 3 rounds. The "-offsets" modes only
 * allocate 8 bytes per record (nothing written), to separate the allocator from the page faults.
 */
import { join } from "node:path";
import { median } from "./harness.ts";
import { removeArenaFiles, scratchPath } from "./scratch.ts";

type Mode = "arena" | "block" | "arena-offsets" | "block-offsets";

export interface ProcessRow {
  mode: Mode;
  processes: number;
  recordsPerSecond: number;
  /** Against one process of the same mode. */
  ratio: number;
}

/** Enough for ~50-200 ms of work per child in each mode. */
const recordsFor = (mode: Mode) => ({ arena: 400_000, block: 400_000, "arena-offsets": 4_000_000, "block-offsets": 40_000_000 })[mode];
const rounds = 3;

async function runRound(mode: Mode, processes: number): Promise<number> {
  const path = scratchPath(`appenders-${mode}`);
  const startAt = Date.now() + 400;
  const children = Array.from({ length: processes }, () =>
    Bun.spawn([process.execPath, join(import.meta.dir, "children", "appender.ts"), path, String(recordsFor(mode)), mode, String(startAt)], {
      stdout: "pipe",
      stderr: "pipe",
    }),
  );
  const times = await Promise.all(
    children.map(async (child) => {
      const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      if (exitCode !== 0) throw new Error(`appender failed (${exitCode}): ${stderr}`);
      return JSON.parse(stdout) as { start: number; end: number };
    }),
  );
  removeArenaFiles(path);
  const elapsedMs = Math.max(...times.map((time) => time.end)) - Math.min(...times.map((time) => time.start));
  return (processes * recordsFor(mode)) / (elapsedMs / 1000);
}

export async function benchProcesses(): Promise<ProcessRow[]> {
  const rows: ProcessRow[] = [];
  for (const mode of ["arena", "block", "arena-offsets", "block-offsets"] as const) {
    const one: number[] = [];
    const two: number[] = [];
    for (let round = 0; round < rounds; round++) {
      one.push(await runRound(mode, 1));
      two.push(await runRound(mode, 2));
    }
    const single = median(one);
    rows.push({ mode, processes: 1, recordsPerSecond: single, ratio: 1 });
    rows.push({ mode, processes: 2, recordsPerSecond: median(two), ratio: median(two) / single });
  }
  return rows;
}
