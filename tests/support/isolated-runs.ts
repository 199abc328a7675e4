// Shared code for the issue 8 review's tests: every probe that could crash runs
// in a child Bun process, so a SIGBUS or a hang is a reported outcome.
import { openSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { BrokenArenaVariant } from "../../lib/arena/broken-variants.ts";

export const isolatedChildren = join(import.meta.dir, "children");
export const cliPath = join(import.meta.dir, "..", "..", "bin", "mapped-file-arena.ts");

export interface Outcome {
  exitCode: number | null;
  signalCode: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bun <file> ...args` to its end, SIGKILLed after timeoutMs (then timedOut
 * is true); with the arena's broken variant `brokenVariant` turned on in the
 * child (lib/arena/broken-variants.ts), for a test's control.
 */
export async function runBun(file: string, args: (string | number)[], timeoutMs = 30_000, brokenVariant?: BrokenArenaVariant): Promise<Outcome> {
  const child = spawnBun(file, args, brokenVariant);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  try {
    const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    await child.exited;
    return { exitCode: child.exitCode, signalCode: child.signalCode === null ? null : String(child.signalCode), timedOut, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** Starts `bun <file> ...args`, piped, with the arena's broken variant `brokenVariant` turned on if given. */
export function spawnBun(file: string, args: (string | number)[], brokenVariant?: BrokenArenaVariant) {
  const preload = brokenVariant === undefined ? [] : ["--preload", join(import.meta.dir, "use-broken-arena.ts")];
  const env = brokenVariant === undefined ? process.env : { ...process.env, MFA_TEST_BROKEN_ARENA: brokenVariant };
  return Bun.spawn([process.execPath, ...preload, file, ...args.map(String)], { stdout: "pipe", stderr: "pipe", stdin: "ignore", env });
}

/** A child script in ./children (with an arena broken variant turned on, for a control). */
export function runIsolatedChild(script: string, args: (string | number)[], timeoutMs?: number, brokenVariant?: BrokenArenaVariant): Promise<Outcome> {
  return runBun(join(isolatedChildren, script), args, timeoutMs, brokenVariant);
}

/** The last line of a child's stdout, as JSON. */
export function lastJson(stdout: string): any {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1] ?? "null");
}

/** Writes a filler file beside `path` until the disk is full (ENOSPC). */
export function fillDisk(path: string): void {
  try {
    const filler = openSync(`${path}.filler`, "w");
    const chunk = Buffer.alloc(64 * 1024, 1);
    for (let i = 0; i < 1_000_000; i++) writeSync(filler, chunk);
  } catch {
    // ENOSPC: full.
  }
}

/** For "open" children: opens `path` with `capacity`, closes it, and prints {size} or {error, message}. */
export async function printOpenOutcome(path: string, capacity: number): Promise<void> {
  const { MappedFileRegionArena } = await import("../../lib/index.ts");
  try {
    const arena = MappedFileRegionArena.create(path, { capacity });
    const size = arena.size;
    arena.close();
    console.log(JSON.stringify({ size }));
  } catch (error) {
    console.log(JSON.stringify({ error: (error as { code?: string }).code, message: (error as Error).message }));
  }
}

/** Runs `open` and prints {outcome: "opened"} or {outcome: "threw", name, code}. */
export function printWhetherItOpened(open: () => void): void {
  try {
    open();
    console.log(JSON.stringify({ outcome: "opened" }));
  } catch (error) {
    console.log(JSON.stringify({ outcome: "threw", name: (error as Error).name, code: (error as { code?: string }).code }));
  }
}
