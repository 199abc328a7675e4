/**
 * RecordLog.waitForLog: a reader that may start before any writer waits for the
 * log to exist, then opens it read-only.
 *
 * A follower and its writers are often started together. A reader must not
 * create the log (RecordLog.open would, with the reader's capacity and block size,
 * and the writers' options would then be ignored), and openReadOnly of a log that
 * is not there yet fails: ENOENT before a writer's open creates the file, and
 * ERR_ARENA_NOT_CREATED in the instant between that and the writer's exclusive
 * lock (after it, a reader's open waits on the lock until the creation is done).
 * Both mean "not yet", so both are retried; everything else (a file that is not
 * a log, a permission error) is final and thrown at once.
 *
 * The wait is bounded by a deadline (timeoutMs) and an AbortSignal, and it sleeps
 * between tries (1 ms, doubling to 50 ms): a log that appears is opened within
 * about 50 ms, and a reader that waits long costs about 20 opens a second.
 */
import { optionNames, requireOptions } from "../common/arguments.ts";
import { ArenaError } from "../common/errors.ts";

export interface WaitForLogOptions {
  /** How long to wait, in milliseconds; default 10 000. Infinity waits until `signal` aborts. */
  timeoutMs?: number;
  /** Stops the wait: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Open even on NFS, SMB or FUSE (see MappedFileRegionArena). */
  allowUnsafeFileSystem?: boolean;
}

const waitForLogOptionNames = optionNames<WaitForLogOptions>({ timeoutMs: true, signal: true, allowUnsafeFileSystem: true });

export const defaultWaitTimeoutMs = 10_000;
const firstPauseMs = 1;
const longestPauseMs = 50;

/** The codes that mean "no writer has created the log yet". */
function isNotCreatedYet(error: unknown): error is ArenaError {
  return error instanceof ArenaError && (error.code === "ENOENT" || error.code === "ERR_ARENA_NOT_CREATED");
}

/** Checks waitForLog's options at the call (not in the promise): a wrong argument throws there. */
export function checkWaitOptions(options: unknown): { timeoutMs: number; signal: AbortSignal | undefined } {
  requireOptions(options, waitForLogOptionNames);
  const { timeoutMs = defaultWaitTimeoutMs, signal } = options as WaitForLogOptions;
  if (typeof timeoutMs !== "number" || !(timeoutMs >= 0)) {
    throw new RangeError(`options.timeoutMs must be a non-negative number of milliseconds (or Infinity), got ${String(timeoutMs)}`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError("options.signal must be an AbortSignal");
  return { timeoutMs, signal };
}

/**
 * Calls `open` until it succeeds or fails with something other than "not created
 * yet", sleeping between tries; past the deadline, the last "not yet" error is
 * thrown, its message saying how long it waited.
 */
export async function retryUntilCreated<T>(path: string, open: () => T, timeoutMs: number, signal: AbortSignal | undefined): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let pauseMs = firstPauseMs;
  for (;;) {
    signal?.throwIfAborted();
    try {
      return open();
    } catch (error) {
      if (!isNotCreatedYet(error)) throw error;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new ArenaError(error.code, `${error.message} (waited ${timeoutMs} ms for a writer to create it)`, {
          syscall: error.syscall,
          path,
          errno: error.errno,
        });
      }
      await sleep(Math.min(pauseMs, left), signal);
      pauseMs = Math.min(pauseMs * 2, longestPauseMs);
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (the loop then throws its reason). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
