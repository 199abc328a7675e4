/**
 * Runs a child that reports progress a line at a time and kills it when it goes
 * quiet: for children that run many cases of a fuzzer, where a case that loops
 * forever must be stopped and named rather than hang the suite.
 */
import { spawnChild } from "./processes.ts";

export interface WatchedResult {
  exitCode: number | null;
  signalCode: Bun.Subprocess["signalCode"];
  /** Every line it printed on stdout. */
  lines: string[];
  stderr: string;
  /** True when it was killed for printing nothing for `quietMs`. */
  stalled: boolean;
}

/** Runs `bun <script> ...args` (see spawnChild); SIGKILLs it when it prints no line for `quietMs`. */
export async function runWatchedChild(script: string, args: (string | number)[], quietMs: number): Promise<WatchedResult> {
  const child = spawnChild(script, args);
  const stderrText = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  const lines: string[] = [];
  let buffered = "";
  let stalled = false;
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const quiet = new Promise<"quiet">((resolve) => (timer = setTimeout(() => resolve("quiet"), quietMs)));
    const next = await Promise.race([reader.read(), quiet]);
    clearTimeout(timer);
    if (next === "quiet") {
      stalled = true;
      child.kill("SIGKILL");
      break;
    }
    if (next.done) break;
    buffered += decoder.decode(next.value, { stream: true });
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    lines.push(...parts);
  }
  if (buffered.length > 0) lines.push(buffered);
  await child.exited;
  return { exitCode: child.exitCode, signalCode: child.signalCode, lines, stderr: await stderrText, stalled };
}
