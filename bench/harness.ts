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
  /** Runs `ops` operations; timed. */
  run(ops: number): void;
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

export interface CompareOptions {
  baseline: string;
  rounds?: number;
  /** Target time of one candidate's round. */
  roundMs?: number;
  /**
   * Nanoseconds from some start: Bun.nanoseconds (wall time) unless given. A
   * thread CPU clock leaves out the time a loaded machine keeps the thread waiting.
   */
  clock?: () => number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function timeRound(candidate: Candidate, ops: number, clock: () => number = Bun.nanoseconds): number {
  candidate.prepare?.(ops);
  const start = clock();
  candidate.run(ops);
  return (clock() - start) / ops;
}

export function compare(group: string, candidates: Candidate[], options: CompareOptions): Row[] {
  const rounds = options.rounds ?? 11;
  const roundMs = options.roundMs ?? 25;
  // Calibrate (and warm up the JIT): grow ops until a round takes a few ms, then
  // scale to roundMs.
  const opsFor = candidates.map((candidate) => {
    const multiple = candidate.opsMultiple ?? 1;
    let ops = multiple;
    for (let attempt = 0; attempt < 30; attempt++) {
      const ns = timeRound(candidate, ops, options.clock) * ops;
      if (ns > 2e6) break;
      ops *= 4;
    }
    const nsPerOp = timeRound(candidate, ops, options.clock);
    return Math.max(multiple, Math.round((roundMs * 1e6) / nsPerOp / multiple) * multiple);
  });
  const samples: number[][] = candidates.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let step = 0; step < candidates.length; step++) {
      const index = (round + step) % candidates.length;
      samples[index]!.push(timeRound(candidates[index]!, opsFor[index]!, options.clock));
    }
  }
  const medians = samples.map(median);
  const baselineIndex = candidates.findIndex((candidate) => candidate.name === options.baseline);
  if (baselineIndex === -1) throw new Error(`no baseline ${options.baseline} in ${group}`);
  return candidates.map((candidate, index) => ({
    group,
    name: candidate.name,
    nsPerOp: medians[index]!,
    minNsPerOp: Math.min(...samples[index]!),
    maxNsPerOp: Math.max(...samples[index]!),
    rounds,
    opsPerRound: opsFor[index]!,
    baseline: options.baseline,
    ratio: medians[index]! / medians[baselineIndex]!,
  }));
}

/** Keeps a result alive so the JIT cannot drop the work that made it. */
export let sink = 0;
export function consume(value: number): void {
  sink = (sink + value) | 0;
}
