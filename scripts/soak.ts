/**
 * The randomized model test (tests/arena/safety/model.ts), for as long as you like.
 *
 *   bun scripts/soak.ts                      seeds from a random start, 200 rounds each, until one fails
 *   bun scripts/soak.ts --seed 42            one seed, then stop (rerun a failure)
 *   bun scripts/soak.ts --rounds 500 --seeds 10
 *
 * Prints every seed it runs; on a failure prints the problems and the command to
 * rerun exactly that seed, and exits 1.
 */
import { parseArgs } from "node:util";
import { createTempDirectory as tempDir, removeDirectory as removeDir } from "../tests/support/temp.ts";
import { runModel } from "../tests/arena/safety/model.ts";

const usage = "usage: bun scripts/soak.ts [--seed N] [--rounds N] [--seeds N] [--verbose]";

function parseCommandLine() {
  try {
    return parseArgs({
      args: Bun.argv.slice(2),
      options: {
        seed: { type: "string" },
        rounds: { type: "string", default: "200" },
        seeds: { type: "string" },
        verbose: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
}

const values = parseCommandLine();
if (values.help) {
  console.log(usage);
  process.exit(0);
}

const rounds = Number(values.rounds);
const firstSeed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const seedCount = values.seed !== undefined ? 1 : values.seeds !== undefined ? Number(values.seeds) : Number.POSITIVE_INFINITY;
if (!Number.isInteger(firstSeed) || !Number.isInteger(rounds) || rounds < 1) {
  console.error(usage);
  process.exit(2);
}

for (let i = 0; i < seedCount; i++) {
  const seed = (firstSeed + i) >>> 0;
  const dir = tempDir("soak");
  const started = Date.now();
  try {
    const result = await runModel({ seed, rounds, dir, log: values.verbose ? console.log : undefined });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (result.problems.length > 0) {
      console.error(`seed ${seed} FAILED after ${seconds} s:\n  ${result.problems.join("\n  ")}`);
      console.error(`rerun: bun scripts/soak.ts --seed ${seed} --rounds ${rounds}`);
      process.exit(1);
    }
    console.log(`seed ${seed}: ${rounds} rounds ok, ${result.allocations} allocations, ${result.kills} SIGKILLs, ${seconds} s`);
  } finally {
    removeDir(dir);
  }
}
