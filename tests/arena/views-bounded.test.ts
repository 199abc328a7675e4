/**
 * The controls for tests/arena/review4/views.test.ts (review 4, finding 1):
 * with the arena's broken variant "views-past-the-file" (views' windows reach
 * to the end of the capacity-sized mapping, as every view's buffer did before),
 * the same children die of SIGBUS copying a read-only arena's view, so those
 * tests can fail.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { spawnBun } from "../support/isolated-runs.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("mfa-views-bounded-");
const child = join(import.meta.dir, "review4", "children", "view-copy-child.ts");

async function runBroken(how: string) {
  const process = spawnBun(child, [freshPath(directory), how], "views-past-the-file");
  const [stdout, stderr] = await Promise.all([new Response(process.stdout).text(), new Response(process.stderr).text()]);
  await process.exited;
  return { stdout, stderr, signal: process.signalCode, exitCode: process.exitCode };
}

for (const how of ["structured-clone", "whole-buffer"]) {
  test(`broken variant (views past the file): ${how} of a read-only arena's view dies of SIGBUS`, async () => {
    const run = await runBroken(how);
    const crashed = run.signal === "SIGBUS" || /Bus error/.test(run.stderr);
    expect({ crashed, exitCode: run.exitCode === 0 ? 0 : "not 0" }).toEqual({ crashed: true, exitCode: "not 0" });
  }, 60_000);
}
