// Running child Bun processes (the scripts in tests/support/children/) from tests.
import { chmodSync, realpathSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export const childrenDirectory = join(import.meta.dir, "children");

type Output = "pipe" | "inherit";

/** A child started by spawnChild: stdin is always a pipe. */
export type Child<Out extends Output = "pipe", Err extends Output = "pipe"> = Bun.Subprocess<"pipe", Out, Err>;

/**
 * Starts `bun tests/support/children/<script> ...args`. stdin is a pipe; stdout
 * and stderr are pipes unless told to inherit the test's (a child that may print
 * a lot to stderr nobody reads should inherit it).
 */
export function spawnChild<const Out extends Output = "pipe", const Err extends Output = "pipe">(
  script: string,
  args: (string | number)[],
  options: { stdout?: Out; stderr?: Err } = {},
): Child<Out, Err> {
  return Bun.spawn<"pipe", Out, Err>([process.execPath, join(childrenDirectory, script), ...args.map(String)], {
    stdin: "pipe",
    stdout: options.stdout ?? ("pipe" as Out),
    stderr: options.stderr ?? ("pipe" as Err),
  });
}

/** How a child ended and everything it printed. */
export interface ChildResult {
  /** null when a signal ended it. */
  exitCode: number | null;
  /** The signal that ended it ("SIGKILL", "SIGBUS", ...), or null. */
  signalCode: Child["signalCode"];
  stdout: string;
  stderr: string;
}

/** Reads all of a piped child's output and waits for its end. */
export async function finished(child: Child): Promise<ChildResult> {
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  await child.exited;
  return { exitCode: child.exitCode, signalCode: child.signalCode, stdout, stderr };
}

/**
 * Runs a child to its end and returns how it ended, without judging it: tests of
 * crashes and kills assert the signal themselves. SIGKILLed after `timeoutMs`.
 */
export async function runChild(script: string, args: (string | number)[], timeoutMs = 30_000): Promise<ChildResult> {
  const child = spawnChild(script, args);
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    return await finished(child);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for every child; each must exit 0 and print one JSON value, which is returned. */
export async function jsonFromChildren<T>(children: Child[]): Promise<T[]> {
  return Promise.all(
    children.map(async (child) => {
      const result = await finished(child);
      if (result.exitCode !== 0) throw new Error(`child failed (${result.exitCode ?? result.signalCode}): ${result.stderr}`);
      return JSON.parse(result.stdout) as T;
    }),
  );
}

/** Reads a child's stdout a line at a time (see lineReader). */
export interface LineReader {
  /**
   * Reads lines until `predicate` accepts one and returns it; the lines before it
   * are consumed. Throws if stdout ends first, or if `timeoutMs` passes between reads.
   */
  waitFor(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
}

export function lineReader(stream: ReadableStream<Uint8Array>): LineReader {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  return {
    async waitFor(predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const newline = buffered.indexOf("\n");
        if (newline !== -1) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (predicate(line)) return line;
          continue;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for a line; have ${JSON.stringify(buffered)}`);
        const { value, done } = await reader.read();
        if (done) throw new Error(`child stdout ended before the expected line; have ${JSON.stringify(buffered)}`);
        buffered += decoder.decode(value, { stream: true });
      }
    },
  };
}

/**
 * Whether a child died of `signal` (SIGBUS, SIGSEGV). Bun before 1.4 catches those
 * in its crash handler, prints "panic(main thread): Bus error at address ..." (or
 * "Segmentation fault at address ...") and then ends with SIGILL (measured on
 * 1.2.23, 1.3.3 and 1.3.14); that counts too.
 */
export function diedOf(result: ChildResult, signal: "SIGBUS" | "SIGSEGV"): boolean {
  if (result.signalCode === signal) return true;
  const report = signal === "SIGBUS" ? "Bus error" : "Segmentation fault";
  return result.signalCode === "SIGILL" && new RegExp(`panic\\(.*\\): ${report} at address`).test(result.stderr);
}

/**
 * The command prefix that runs a child as `nobody` when the tests run as root
 * (root may read and write anything, so a permission test needs another user),
 * or nothing otherwise. `nobody` must be able to reach this checkout and the Bun
 * it runs: a clone inside a 0700 folder (what `mktemp -d` makes) would fail the
 * child before it tests anything. So each folder above them gains the search bit
 * (o+x: enter, not list or write), which on a test machine changes no access
 * that matters. Only root gets here.
 */
export function asOtherUserPrefix(): string[] {
  if (process.getuid?.() !== 0) return [];
  for (const start of [join(import.meta.dir, "..", ".."), dirname(realpathSync(process.execPath))]) {
    for (let folder = resolve(start); ; folder = dirname(folder)) {
      const mode = statSync(folder).mode;
      if ((mode & 0o001) === 0) chmodSync(folder, mode | 0o001);
      if (dirname(folder) === folder) break;
    }
  }
  return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
}
