/**
 * A small benchmark harness: candidates of one group run side by side in
 * interleaved rounds (the order rotates each round), so that the noise of a
 * shared machine (other tenants, CPU frequency, the page cache) falls on all of
 * them alike. Each candidate runs its own loop of `ops` operations (a loop per
 * candidate keeps each call site monomorphic); a round's ns/op is its time over
 * its ops, and the reported figure is the median of the rounds.
 *
 * Not mitata: its run() measures one benchmark to completion before starting the
 * next, so it cannot interleave rounds, which is what this harness exists for.
 */
export interface Candidate {
  name: string;
  /**
   * Runs `ops` operations. Timed by the harness; or, for a candidate that runs in
   * another process (a C program), it returns the nanoseconds the ops took there
   * (on the group's clock), so that starting the process is not counted.
   */
  run(ops: number): void | number;
  /** Untimed, before each round (reset a file that grew, for example). */
  prepare?(ops: number): void;
  /** ops is always a multiple of this (a transaction's rows, for example). */
  opsMultiple?: number;
}

export interface Row {
  group: string;
  name: string;
  /** Median over rounds. */
  nsPerOp: number;
  minNsPerOp: number;
  maxNsPerOp: number;
  rounds: number;
  opsPerRound: number;
  baseline: string;
  /** nsPerOp / the baseline's nsPerOp. */
  ratio: number;
}

/**
 * "wall": elapsed time. "cpu": the process's CPU time (user + system, every
 * thread, so the collector's work counts), for groups compared with another
 * process: on a machine shared with other tenants, a freshly started process is
 * scheduled ahead of a long-running one, and wall time would measure that.
 */
export type Clock = "wall" | "cpu" | (() => number);

export interface CompareOptions {
  baseline: string;
  clock?: Clock;
  rounds?: number;
  /** Target time of one candidate's round. */
  roundMs?: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** CPU time of this process (user + system, every thread), in ns. */
export function cpuNanoseconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

function clockFunction(clock: Clock): () => number {
  if (clock === "cpu") return cpuNanoseconds;
  if (clock === "wall") return Bun.nanoseconds;
  return clock;
}

function timeRound(candidate: Candidate, ops: number, clock: Clock): number {
  candidate.prepare?.(ops);
  const now = clockFunction(clock);
  const start = now();
  const selfTimedNs = candidate.run(ops);
  const elapsedNs = typeof selfTimedNs === "number" ? selfTimedNs : now() - start;
  return elapsedNs / ops;
}

export function compare(group: string, candidates: Candidate[], options: CompareOptions): Row[] {
  const rounds = options.rounds ?? 11;
  const roundMs = options.roundMs ?? 25;
  const clock = options.clock ?? "wall";
  // Calibrate (and warm up the JIT): grow ops until a round takes a few ms, then
  // scale to roundMs.
  const opsFor = candidates.map((candidate) => {
    const multiple = candidate.opsMultiple ?? 1;
    let ops = multiple;
    for (let attempt = 0; attempt < 30; attempt++) {
      const ns = timeRound(candidate, ops, clock) * ops;
      if (ns > 2e6) break;
      ops *= 4;
    }
    const nsPerOp = timeRound(candidate, ops, clock);
    return Math.max(multiple, Math.round((roundMs * 1e6) / nsPerOp / multiple) * multiple);
  });
  const samples: number[][] = candidates.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let step = 0; step < candidates.length; step++) {
      const index = (round + step) % candidates.length;
      samples[index]!.push(timeRound(candidates[index]!, opsFor[index]!, clock));
    }
  }
  return rowsFromSamples(group, candidates.map((candidate) => candidate.name), samples, options.baseline, opsFor);
}

/** The rows of a group from each candidate's per-round samples (ns per op): medians, ranges, ratios to `baseline`. */
export function rowsFromSamples(group: string, names: string[], samples: number[][], baseline: string, opsPerRound: number[]): Row[] {
  const medians = samples.map(median);
  const baselineIndex = names.indexOf(baseline);
  if (baselineIndex === -1) throw new Error(`no baseline ${baseline} in ${group}`);
  return names.map((name, index) => ({
    group,
    name,
    nsPerOp: medians[index]!,
    minNsPerOp: Math.min(...samples[index]!),
    maxNsPerOp: Math.max(...samples[index]!),
    rounds: samples[index]!.length,
    opsPerRound: opsPerRound[index]!,
    baseline,
    ratio: medians[index]! / medians[baselineIndex]!,
  }));
}

/** Keeps a result alive so the JIT cannot drop the work that made it. */
export let sink = 0;
export function consume(value: number): void {
  sink = (sink + value) | 0;
}
