/**
 * The CliStreams of the running process (bin/mapped-file-arena.ts): stdout with
 * its back-pressure (a slow reader of a pipe holds the writer back instead of the
 * output piling up in memory), and SIGINT/SIGTERM as the stop signal, taken over
 * only when a command asks for it (a command that does not would stop dead on
 * Ctrl-C, as it should).
 *
 * A reader that goes away (`log cat FILE | head`) ends the command quietly with
 * exit 0, as it would end a shell tool, rather than with a stack trace of EPIPE.
 */
import type { CliStreams } from "./cli.ts";

function exitOnBrokenPipe(error: unknown): void {
  if ((error as { code?: unknown } | null)?.code === "EPIPE") process.exit(0);
  throw error;
}

export function processStreams(): CliStreams {
  let stop: AbortController | undefined;
  let watching = false;
  return {
    write(text) {
      if (!watching) {
        watching = true;
        process.stdout.on("error", exitOnBrokenPipe);
      }
      try {
        if (process.stdout.write(text)) return;
      } catch (error) {
        exitOnBrokenPipe(error);
      }
      return new Promise((resolve) => process.stdout.once("drain", resolve));
    },
    notice(line) {
      process.stderr.write(`${line}\n`);
    },
    stopSignal() {
      if (stop === undefined) {
        const controller = (stop = new AbortController());
        for (const name of ["SIGINT", "SIGTERM"] as const) process.on(name, () => controller.abort());
      }
      return stop.signal;
    },
  };
}
