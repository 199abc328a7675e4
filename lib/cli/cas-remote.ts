/**
 * `mapped-file-arena cas push|pull DIR --remote URL`: a whole store to or from a
 * Bazel HTTP cache (docs/remote.md). push uploads every leaf and action entry,
 * then a manifest naming them; pull fetches what the manifest names. Exit codes
 * as for the other cas commands: 0 done, 1 some objects failed (the counts say
 * which way), 2 usage, I/O, or no manifest on the remote.
 */
import { ArenaError } from "../common/errors.ts";
import { ContentStore } from "../store/content-store.ts";
import { notAStoreDirectory } from "../store/store-directory-errors.ts";
import type { CliResult } from "./cli.ts";
import { isResult, operandProblem, parseCommandLine, usageError as usageErrorOf } from "./command-line.ts";

export const casRemoteUsage = `  cas push DIR --remote URL   upload every object and action entry, then a manifest
  cas pull DIR --remote URL   fetch every object and action entry the manifest names
    --name NAME      the manifest's name (default "default")
    --header 'K: V'  a request header, e.g. 'authorization: Bearer ...' (repeatable)
    --timeout-ms N   per-request timeout (default 10000)`;

const options = {
  remote: { type: "string" },
  name: { type: "string", default: "default" },
  header: { type: "string", multiple: true, default: [] as string[] },
  "timeout-ms": { type: "string", default: "10000" },
  json: { type: "boolean", default: false },
} as const;

export async function casRemoteMain(args: string[]): Promise<CliResult> {
  const line = parseCommandLine(args, options, casRemoteUsage);
  if (isResult(line)) return line;
  const { values, command } = line;
  const problem = operandProblem(line, `cas ${command}`, "DIR", casRemoteUsage);
  if (problem !== undefined) return problem;
  const directory = line.operand!;
  if (values.remote === undefined) return usageError(`cas ${command} needs --remote URL`);
  const headers: Record<string, string> = {};
  for (const header of values.header) {
    const colon = header.indexOf(":");
    if (colon <= 0) return usageError(`--header must be 'Name: value', got ${JSON.stringify(header)}`);
    headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  const timeoutMs = Number(values["timeout-ms"]);
  const notAStore = command === "push" ? notAStoreDirectory(directory) : undefined;
  if (notAStore !== undefined) return { exitCode: 2, stdout: "", stderr: `mapped-file-arena: ${notAStore}\n` };
  try {
    await using store = ContentStore.open(directory, { remote: { url: values.remote, headers, timeoutMs, maxPending: 1_000_000 } });
    const report = command === "push" ? await store.remote!.push(values.name) : await store.remote!.pull(values.name);
    const stats = store.remoteStats()!;
    if (command === "pull" && report.manifest === null) {
      const why = stats.lastError === null ? `the remote has no manifest named ${JSON.stringify(values.name)}` : stats.lastError;
      return { exitCode: 2, stdout: "", stderr: `mapped-file-arena: nothing pulled: ${why}\n` };
    }
    const exitCode = report.failed === 0 && report.manifest !== null ? 0 : 1;
    if (values.json) return { exitCode, stdout: `${JSON.stringify({ ...report, remote: stats }, null, 2)}\n`, stderr: "" };
    const verb = command === "push" ? "pushed" : "pulled";
    const kept = report.actionsKept === 0 ? "" : `, kept ${report.actionsKept} local entries that differ`;
    const stdout = `${verb} ${report.objects} objects and ${report.actions} action entries${kept} (manifest ${report.manifest ?? "not uploaded"})\n`;
    const stderr = exitCode === 0 ? "" : `mapped-file-arena: ${report.failed} failed; last error: ${stats.lastError}\n`;
    return { exitCode, stdout, stderr };
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) return usageError(error.message);
    const message = error instanceof ArenaError ? `${error.code}: ${error.message}` : `internal error: ${String(error)}`;
    return { exitCode: 2, stdout: "", stderr: `mapped-file-arena: ${message}\n` };
  }
}

function usageError(message: string): CliResult {
  return usageErrorOf(message, casRemoteUsage);
}
