/**
 * The randomized model test's engine, shared by model.test.ts (a bounded run in
 * CI) and scripts/soak.ts (as long as you like). A seed decides everything: how
 * many processes each round, what each does, which are SIGKILLed mid-work, and
 * in which order the survivors end (clean close or SIGKILL). After every round
 * the checker proves, from the file alone and the participants' logs:
 *  - every logged allocation is 8-aligned, inside [header end, size), disjoint from every
 *    other (this round's and all earlier rounds') and still carries its stamp;
 *  - size <= capacity;
 * Some rounds start from no file at all, so several processes race to create it.
 *  - the file is exactly `capacity` bytes while anyone holds it open, and exactly
 *    `size` bytes after the last opener closed cleanly.
 */
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { checkAllocations, parseRecords, type AllocationRecord } from "../../support/allocations.ts";
import type { ModelChildJob } from "../../support/children/model-child.ts";
import { lineReader, spawnChild, type Child, type LineReader } from "../../support/processes.ts";
import { testHeaderOffset } from "../../support/barrier.ts";
import { prng } from "../../support/random.ts";
import { slowdown } from "../../support/speed.ts";

export interface ModelOptions {
  seed: number;
  rounds: number;
  dir: string;
  capacity?: number;
  mode?: ModelChildJob["mode"];
  /** Called with a line of progress per round. */
  log?: (line: string) => void;
}

export interface ModelResult {
  seed: number;
  problems: string[];
  allocations: number;
  kills: number;
  cleanLastCloses: number;
}

interface Participant {
  child: Child<"pipe", "inherit">;
  lines: LineReader;
  opened: boolean;
  done: boolean;
  dead: boolean;
  logPath: string;
}

/** The arenas' first bytes hold the test barrier; the header follows. */
const headerEnd = testHeaderOffset + 32;

function readHeader(path: string): { bumpPtr: number; fileSize: number; file: Uint8Array } {
  const file = new Uint8Array(readFileSync(path));
  const bumpPtr = file.length >= headerEnd ? Number(new DataView(file.buffer).getBigUint64(testHeaderOffset, true)) : 0;
  return { bumpPtr, fileSize: file.length, file };
}

export async function runModel(options: ModelOptions): Promise<ModelResult> {
  const { seed, rounds, dir } = options;
  const capacity = options.capacity ?? 512 * 1024;
  const mode = options.mode ?? "atomic";
  const random = prng(seed);
  const path = join(dir, `model-${seed}.arena`);
  const records: AllocationRecord[] = [];
  const problems: string[] = [];
  const result: ModelResult = { seed, problems, allocations: 0, kills: 0, cleanLastCloses: 0 };
  const fail = (round: number, problem: string) => problems.push(`seed ${seed} round ${round}: ${problem}`);
  let tag = 0;

  for (let round = 0; round < rounds && problems.length === 0; round++) {
    if (round > 0 && random() < 0.2) {
      // Start over: the next round's processes race to create the file afresh.
      rmSync(path, { force: true });
      records.length = 0;
    }
    const count = 2 + Math.floor(random() * 3);
    const parentHolds = random() < 0.25;
    const held = parentHolds ? MappedFileRegionArena.create(path, { capacity, headerOffset: testHeaderOffset }) : undefined;
    const startAtMs = Date.now() + 150 * slowdown;
    const participants: Participant[] = [];
    for (let i = 0; i < count; i++) {
      const logPath = join(dir, `model-${seed}-${round}-${i}.log`);
      const job: ModelChildJob = {
        path,
        capacity,
        tag: ++tag,
        seed: Math.floor(random() * 2 ** 31),
        operations: mode === "racy" ? 3000 : 50 + Math.floor(random() * 400),
        instances: 1 + Math.floor(random() * 2),
        logPath,
        startAtMs,
        mode,
      };
      const child = spawnChild("model-child.ts", [JSON.stringify(job)], { stderr: "inherit" });
      participants.push({ child, lines: lineReader(child.stdout), opened: false, done: false, dead: false, logPath });
    }

    // Work phase: some children are SIGKILLed at a random moment, maybe mid-allocation.
    const timers: Timer[] = [];
    const work = participants.map(async (p) => {
      try {
        await p.lines.waitFor((line) => line === "open", 30_000 * slowdown);
        p.opened = true;
        await p.lines.waitFor((line) => line.startsWith("done"), 30_000 * slowdown);
        p.done = true;
      } catch {
        // stdout ended: the child died (killed, or crashed: see the exit check below)
      }
    });
    for (const p of participants) {
      // Not in racy mode: a child killed before its first allocation would leave
      // the other waiting for it at the collision (see model-child.ts).
      if (random() < 0.3 && mode !== "racy") {
        const delayMs = Math.floor(random() * 250);
        timers.push(setTimeout(() => {
          // Only a child still running is ours to kill: one that already ended
          // on its own must be reported as a crash, not counted as a kill.
          if (!p.done && p.child.exitCode === null && p.child.signalCode === null) {
            p.dead = true;
            p.child.kill("SIGKILL");
          }
        }, delayMs));
      }
    }
    await Promise.all(work);
    timers.forEach(clearTimeout);
    for (const p of participants) {
      if (!p.done && !p.dead) fail(round, `a child ended on its own before "done" (exit ${await p.child.exited})`);
      if (p.dead) {
        await p.child.exited;
        if (p.child.signalCode !== "SIGKILL") fail(round, `a child meant to be killed ended otherwise (exit ${p.child.exitCode}, signal ${p.child.signalCode})`);
        result.kills++;
      }
    }

    // Ending phase, one at a time: the file stays at its capacity while anyone is open.
    const survivors = participants.filter((p) => p.done);
    let lastEnd: "clean" | "killed-open" | "none" = "none";
    const order = survivors.map((p) => ({ p, r: random() })).sort((a, b) => a.r - b.r).map(({ p }) => p);
    for (const p of order) {
      const size = statSync(path).size;
      if (size !== capacity) fail(round, `file is ${size} bytes while open, not its capacity ${capacity}`);
      if (random() < 0.3) {
        p.child.kill("SIGKILL");
        await p.child.exited;
        result.kills++;
        lastEnd = "killed-open";
      } else {
        p.child.stdin.write("close\n");
        p.child.stdin.flush();
        await p.lines.waitFor((line) => line === "closed", 30_000 * slowdown);
        const code = await p.child.exited;
        if (code !== 0) fail(round, `a child exited ${code} after closing`);
        lastEnd = "clean";
      }
    }
    if (held !== undefined) {
      const size = statSync(path).size;
      if (size !== capacity) fail(round, `file is ${size} bytes while the parent holds it, not ${capacity}`);
      held.close();
      lastEnd = "clean";
    }

    // Check: the file alone, plus every log so far.
    const checkedBefore = records.length;
    for (const p of participants) if (existsSync(p.logPath)) records.push(...parseRecords(readFileSync(p.logPath, "utf8")));
    if (!existsSync(path)) {
      if (records.length > 0) fail(round, "the arena file is gone");
      continue;
    }
    const { bumpPtr, fileSize, file } = readHeader(path);
    const size = Math.min(bumpPtr, capacity);
    if (fileSize > 0 && (size < headerEnd || size % 8 !== 0)) fail(round, `size ${size} (bumpPtr ${bumpPtr}) is not a valid size`);
    if (fileSize > capacity) fail(round, `file is ${fileSize} bytes, past the capacity ${capacity}`);
    if (lastEnd === "clean" && fileSize !== size) fail(round, `last opener closed cleanly but the file is ${fileSize} bytes, size is ${size}`);
    if (lastEnd === "killed-open" && fileSize !== capacity) fail(round, `last opener was killed while open but the file is ${fileSize} bytes, not ${capacity}`);
    if (lastEnd === "none" && fileSize !== capacity && fileSize !== size && fileSize !== 0) {
      fail(round, `everyone was killed mid-work; the file is ${fileSize} bytes, neither size ${size} nor capacity ${capacity}`);
    }
    for (const problem of checkAllocations(file, records, headerEnd, size)) fail(round, problem);
    result.allocations += records.length - checkedBefore;
    if (lastEnd === "clean") result.cleanLastCloses++;
    options.log?.(
      `seed ${seed} round ${round}: ${count} processes${parentHolds ? " + parent" : ""}, ${records.length} allocations so far, ` +
        `size ${size}, file ${fileSize}, last end ${lastEnd}`,
    );
    await Bun.sleep(0);
  }
  return result;
}
