// Starting the log tests' child processes (tests/log/children/) and watching followers.
import { join } from "node:path";
import { lineReader, type Child, type LineReader } from "../../support/processes.ts";

const childrenDirectory = join(import.meta.dir, "..", "children");

export function spawnLogChild(script: string, args: (string | number)[]): Child {
  return Bun.spawn([process.execPath, join(childrenDirectory, script), ...args.map(String)], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** What a follower child last reported. */
export interface FollowerState {
  total: number;
  counts: Record<string, number>;
  problems: string[];
}

/** A follower child and its latest report. */
export class WatchedFollower {
  readonly child: Child;
  readonly #lines: LineReader;
  state: FollowerState = { total: 0, counts: {}, problems: [] };

  constructor(kind: string, path: string) {
    this.child = spawnLogChild("follower.ts", [kind, path]);
    this.#lines = lineReader(this.child.stdout);
  }

  /**
   * Reads reports until `done(state)` holds; returns false if `timeoutMs` passes
   * with no report that satisfies it (a report comes at least every time the
   * follower reads something, so silence means it has stopped reading).
   */
  async waitUntil(done: (state: FollowerState) => boolean, timeoutMs: number): Promise<boolean> {
    if (done(this.state)) return true;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      try {
        const line = await this.#lines.waitFor(() => true, left);
        this.state = JSON.parse(line) as FollowerState;
      } catch (error) {
        if (String(error).includes("timed out")) return false;
        throw error;
      }
      if (done(this.state)) return true;
    }
  }

  /** Closes its stdin (which stops it) and returns its final report; it must exit 0. */
  async stop(): Promise<FollowerState> {
    this.child.stdin.end();
    const exitCode = await this.child.exited;
    await this.waitUntil(() => false, 200).catch(() => false);
    if (exitCode !== 0) throw new Error(`follower exited ${exitCode}: ${await new Response(this.child.stderr).text()}`);
    return this.state;
  }
}

/** Waits for a child that must exit 0. */
export async function succeeded(child: Child): Promise<void> {
  const exitCode = await child.exited;
  if (exitCode !== 0) throw new Error(`child exited ${exitCode ?? child.signalCode}: ${await new Response(child.stderr).text()}`);
}

/** Waits for a child that must die of SIGKILL (a dead writer). */
export async function killed(child: Child): Promise<void> {
  await child.exited;
  if (child.signalCode !== "SIGKILL") {
    throw new Error(`expected SIGKILL, got exit ${child.exitCode}: ${await new Response(child.stderr).text()}`);
  }
}
