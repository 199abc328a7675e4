// Runs a script of tests/arena/review4/children/ in a child Bun process.
import { join } from "node:path";
import { finished, type ChildResult } from "../../support/processes.ts";

/** Runs children/<script> with `args` to its end (SIGKILLed after `timeoutMs`) and returns how it ended. */
export async function runReviewChild(script: string, args: (string | number)[], timeoutMs = 60_000): Promise<ChildResult> {
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "children", script), ...args.map(String)], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    return await finished(child);
  } finally {
    clearTimeout(timer);
  }
}

/** The last line a child printed, parsed as JSON. */
export function lastJson<T = Record<string, unknown>>(result: ChildResult): T {
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as T;
}
