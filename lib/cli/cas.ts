/**
 * `mapped-file-arena cas stats|validate|gc DIR`: look after a ContentStore
 * directory from the shell. Like the rest of the CLI, every failure is one line
 * on stderr and an exit code: 0 fine, 1 the store has problems, 2 usage or I/O.
 */
import { ArenaError } from "../common/errors.ts";
import { ContentStore, isDamage } from "../store/content-store.ts";
import type { ValidationReport } from "../store/validate.ts";
import { notAStoreDirectory } from "../store/store-directory-errors.ts";
import { diskBytes } from "../store/disk-usage.ts";
import type { CliResult } from "./cli.ts";
import { casRemoteUsage } from "./cas-remote.ts";
import { isResult, operandProblem, parseCommandLine, usageError } from "./command-line.ts";

export const casUsage = `usage: mapped-file-arena cas <stats|validate|gc|push|pull> DIR [options]

  cas stats DIR      generations, their sizes, the size limit, disk used (read-only)
  cas validate DIR   check every index entry, pool record and large-object file;
                     exit 0 if valid, 1 with one line per problem (read-only)
    --deep           also re-hash every object
  cas gc DIR         delete generations no process uses, and leftovers
    --include-corrupt  also delete what recovery moved aside (corrupt.*)
  --json             machine-readable output
${casRemoteUsage}`;

const options = {
  json: { type: "boolean", default: false },
  deep: { type: "boolean", default: false },
  "include-corrupt": { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

export function casMain(args: string[]): CliResult {
  const line = parseCommandLine(args, options, casUsage);
  if (isResult(line)) return line;
  const { values, command } = line;
  if (values.help) return { exitCode: 0, stdout: `${casUsage}\n`, stderr: "" };
  if (command !== "stats" && command !== "validate" && command !== "gc") {
    return usageError(command === undefined ? "cas needs a command" : `unknown cas command ${JSON.stringify(command)}`, casUsage);
  }
  const problem = operandProblem(line, `cas ${command}`, "DIR", casUsage);
  if (problem !== undefined) return problem;
  const directory = line.operand!;
  const notAStore = notAStoreDirectory(directory);
  if (notAStore !== undefined) return { exitCode: 2, stdout: "", stderr: `mapped-file-arena: ${notAStore}\n` };
  try {
    if (command === "validate") return validate(directory, values.deep, values.json);
    // Inspection reads, and must work where the store can only be read (a
    // read-only mount, another user's cache) and change nothing: only gc writes.
    using store = command === "gc" ? ContentStore.open(directory) : ContentStore.openReadOnly(directory);
    if (command === "stats") return stats(store, values.json);
    const removed = store.gc({ includeCorrupt: values["include-corrupt"] });
    const stdout = values.json ? `${JSON.stringify({ removed }, null, 2)}\n` : `removed ${removed.length}${removed.map((name) => `\n  ${name}`).join("")}\n`;
    return { exitCode: 0, stdout, stderr: "" };
  } catch (error) {
    const message = error instanceof ArenaError ? `${error.code}: ${error.message}` : `internal error: ${String(error)}`;
    return { exitCode: 2, stdout: "", stderr: `mapped-file-arena: ${message}\n` };
  }
}

function stats(store: ContentStore, json: boolean): CliResult {
  const report = { ...store.stats(), diskBytes: diskBytes(store.directory) };
  if (json) return { exitCode: 0, stdout: `${JSON.stringify(report, null, 2)}\n`, stderr: "" };
  const lines = [`store ${store.directory}`];
  for (const generation of report.generations) {
    lines.push(
      `  v1.${generation.number} (${generation.role}): ${mib(generation.storageBytes)} used ` +
        `(pool ${mib(generation.poolBytes)}, large-object files ${mib(generation.largeObjectBytes)})`,
    );
  }
  lines.push(`  limit: ${report.maxBytes === null ? "none set by this opener" : mib(report.maxBytes)}`);
  lines.push(`  on disk: ${mib(report.diskBytes)} (every file under the directory, st_blocks x 512)`);
  return { exitCode: 0, stdout: `${lines.join("\n")}\n`, stderr: "" };
}

function validate(directory: string, deep: boolean, json: boolean): CliResult {
  let report: ValidationReport;
  try {
    using store = ContentStore.openReadOnly(directory);
    report = store.validate({ deep });
  } catch (error) {
    // A generation whose table fails to open (truncated, a garbage header) is
    // damage, as validateIfNeeded counts it: a problem found (exit 1), not an
    // I/O failure (2). A store still being made is not damage: a writer finishes it.
    if (!isDamage(error) || error.code === "ERR_ARENA_NOT_CREATED") throw error;
    report = { valid: false, problems: [error.message], objects: 0, actions: 0 };
  }
  const exitCode = report.valid ? 0 : 1;
  if (json) return { exitCode, stdout: `${JSON.stringify(report, null, 2)}\n`, stderr: "" };
  const summary = `${directory}: ${report.objects} objects, ${report.actions} action entries checked${deep ? " (deep)" : ""}`;
  if (report.valid) return { exitCode, stdout: `${summary}: valid\n`, stderr: "" };
  const problems = report.problems.map((problem) => `  ${problem}`).join("\n");
  return { exitCode, stdout: "", stderr: `mapped-file-arena: ${summary}: ${report.problems.length} problems\n${problems}\n` };
}


function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}
