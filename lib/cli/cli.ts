/**
 * The `mapped-file-arena` command (bin/mapped-file-arena.ts): `inspect FILE` prints
 * an arena file's header and health as a table (or JSON), `verify FILE` checks it
 * and says so in one line. Both only read (see inspect.ts). A database file (LLVM's
 * DatabaseFile: a trie or a data allocator) is recognized by its magic when no
 * --header-offset is given: its arena header is read at 16, and its table is
 * described and, for a trie, validated (lib/trie/inspect-database.ts).
 *
 * `log cat FILE` prints a record log's records (log.ts); `cas ...` looks after a
 * content store (cas.ts, cas-remote.ts).
 *
 * Exit codes: 0 the header is valid (or a creation was interrupted, which the next
 * open repairs); 1 the header is invalid, the file is empty or not an arena; 2 a
 * usage error, or the path cannot be read. Errors carry the code the library
 * throws for the same file (ERR_ARENA_CORRUPT, ERR_ARENA_HEADER_MISMATCH, ...).
 * Every failure is one line on stderr: a person gets a reason, never a stack trace.
 */
import { readFileSync, statSync } from "node:fs";
import { ArenaError } from "../common/errors.ts";
import { inspectArenaFile, type Inspection, type Validation } from "./inspect.ts";
import { casMain, casUsage } from "./cas.ts";
import { exitUsage, isResult, operandProblem, parseCommandLine, usageError as usageErrorOf } from "./command-line.ts";
import { casRemoteMain } from "./cas-remote.ts";
import { logMain, logUsage } from "./log.ts";
import { inspectDatabaseFile, looksLikeDatabaseFile, type DatabaseInspection } from "../trie/inspect-database.ts";
import { databaseHeaderBytes } from "../trie/database-file.ts";
import { inspectLogFile, isRecordLogFile, type LogFileInspection } from "../log/inspect-file.ts";
import { arenaHeaderOffset } from "../log/format.ts";

/** What `main` writes and returns; the bin script forwards it to the process. */
export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const usage = `usage: mapped-file-arena <inspect|verify> FILE [--header-offset N] [--json]
       mapped-file-arena help | --version

  inspect FILE   print the header words, space used, disk reserved, whether a process
                 has the arena open, and whether the header is valid; for a database
                 file (a trie or data allocator), its table too; for a record log,
                 its records, holes and abandoned blocks; a header at another offset
                 than the one asked for is found and inspected there
  verify FILE    check the header (and a database file's table: a trie is walked
                 whole; or a record log's blocks); exit 0 if valid, 1 if not
  --header-offset N  where the header is (default 0, the library's default; 16 for a
                 database file, 4064 for a record log, each recognized by its magic;
                 without it, verify also accepts a header found elsewhere, and says where)
  --json         machine-readable output
  --version      the version of mapped-file-arena
  help, --help   this text

${casUsage.replace("usage: ", "")}

${logUsage.replace("usage: ", "")}`;

const exitValid = 0;
const exitInvalid = 1;

/**
 * Where a command that streams (`log cat`) writes as it goes, and what stops one
 * that runs until it is told to (`log cat --follow`). The bin script passes the
 * process's (process-streams.ts); without it, mainAsync collects the output.
 */
export interface CliStreams {
  /** Writes to stdout; a returned promise resolves when more may be written. */
  write(text: string): void | Promise<void>;
  /** Writes a line to stderr at once: what a command that waits is waiting for. */
  notice(line: string): void;
  /** Aborts when the process is asked to stop (SIGINT, SIGTERM). Asked for only by a command that runs until then. */
  stopSignal(): AbortSignal;
}

/** main, and the commands that talk to a network (`cas push|pull`) or stream (`log`), which cannot answer synchronously. */
export async function mainAsync(args: string[], streams?: CliStreams): Promise<CliResult> {
  if (args[0] === "cas" && (args[1] === "push" || args[1] === "pull")) return casRemoteMain(args.slice(1));
  if (args[0] === "log") {
    if (streams !== undefined) return logMain(args.slice(1), streams);
    let stdout = "";
    let stderr = "";
    const collected = await logMain(args.slice(1), {
      write: (text) => void (stdout += text),
      notice: (line) => void (stderr += `${line}\n`),
      stopSignal: () => new AbortController().signal,
    });
    return { exitCode: collected.exitCode, stdout: stdout + collected.stdout, stderr: stderr + collected.stderr };
  }
  return main(args);
}

const options = {
  json: { type: "boolean", default: false },
  "header-offset": { type: "string" },
  help: { type: "boolean", short: "h", default: false },
  version: { type: "boolean", short: "v", default: false },
} as const;

/** Runs the command line `args` (without the runtime and script) and returns its output. */
export function main(args: string[]): CliResult {
  if (args[0] === "cas") return casMain(args.slice(1));
  if (args[0] === "log") return usageError("log commands stream their output: run them through mainAsync (as the bin script does)");
  const line = parseCommandLine(args, options, usage);
  if (isResult(line)) return line;
  const { values, command } = line;
  if (values.help || command === "help") return { exitCode: exitValid, stdout: `${usage}\n`, stderr: "" };
  if (values.version) return { exitCode: exitValid, stdout: `mapped-file-arena ${packageVersion()}\n`, stderr: "" };
  if (command === undefined) return usageError("no command given");
  if (command !== "inspect" && command !== "verify") return usageError(`unknown command ${JSON.stringify(command)}`);
  const problem = operandProblem(line, command, "FILE", usage);
  if (problem !== undefined) return problem;
  const path = line.operand!;
  const offsetText = values["header-offset"];
  const database = offsetText === undefined && looksLikeDatabaseFile(path);
  const recordLog = offsetText === undefined && !database && looksLikeRecordLog(path);
  const headerOffset = database ? databaseHeaderBytes : recordLog ? arenaHeaderOffset : Number(offsetText ?? "0");
  if (offsetText !== undefined && (!/^\d+$/.test(offsetText) || !Number.isSafeInteger(headerOffset) || headerOffset % 8 !== 0)) {
    return usageError(`--header-offset must be a non-negative multiple of 8, got ${JSON.stringify(offsetText)}`);
  }

  let inspection: Inspection;
  try {
    // inspect looks wherever the header is; verify checks an offset the caller names.
    const followHeader = command === "inspect" || offsetText === undefined;
    inspection = inspectArenaFile(path, { headerOffset, followHeader });
  } catch (error) {
    return failure(error, values.json);
  }
  const tables = database && inspection.validation.status === "valid" ? inspectDatabaseFile(path, inspection.usedBytes) : undefined;
  let log: LogFileInspection | undefined;
  try {
    log = recordLog && inspection.validation.status === "valid" ? inspectLogFile(path) : undefined;
  } catch (error) {
    return failure(error, values.json);
  }
  const logInvalid = log !== undefined && (log.problem !== undefined || log.stats!.corrupt.count > 0);
  const healthy = isHealthy(inspection.validation) && tables?.check.status !== "invalid" && !logInvalid;
  const exitCode = healthy ? exitValid : exitInvalid;
  if (values.json) {
    let body: object = tables === undefined ? toJson(inspection) : { ...toJson(inspection), database: tables };
    if (log !== undefined) body = { ...body, log: { ...log.header, problem: log.problem, stats: log.stats } };
    return { exitCode, stdout: `${JSON.stringify(body, null, 2)}\n`, stderr: "" };
  }
  if (command === "verify") {
    const offsetNote = describeOffset(inspection);
    const verdict = tables !== undefined ? describeDatabase(tables) : log !== undefined ? describeLog(log) : describeValidation(inspection);
    const line = `${path}: ${verdict}${offsetNote ? `; ${offsetNote}` : ""}\n`;
    return exitCode === exitValid ? { exitCode, stdout: line, stderr: "" } : { exitCode, stdout: "", stderr: `mapped-file-arena: ${line}` };
  }
  return { exitCode, stdout: formatTable(inspection, tables, log), stderr: "" };
}

/** A file that cannot be read is not a log; inspectArenaFile then says what is wrong with it. */
function looksLikeRecordLog(path: string): boolean {
  try {
    return isRecordLogFile(path);
  } catch {
    return false;
  }
}

function describeLog(log: LogFileInspection): string {
  if (log.problem !== undefined) return `INVALID record log: ${log.problem}`;
  const stats = log.stats!;
  const parts = [
    `${stats.committed.count} records (${bytes(stats.committed.bytes)}) in ${stats.blocks} blocks of ${bytes(stats.blockSizeBytes)}`,
    `${stats.holes.count} holes (${bytes(stats.holes.bytes)})`,
    `${stats.abandoned.count} abandoned blocks (${stats.abandoned.records} records begun, never committed; ${bytes(stats.abandoned.bytes)} unused)`,
  ];
  if (stats.open.count > 0) parts.push(`${stats.open.count} open by live writers`);
  if (stats.claiming.count > 0) parts.push(`${stats.claiming.count} being claimed`);
  if (stats.corrupt.count > 0) return `INVALID record log (${stats.corrupt.count} corrupt blocks, skipped by readers): ${parts.join(", ")}`;
  return `valid record log, ${parts.join(", ")}`;
}

/** inspect's rows for a record log. */
function logRows(log: LogFileInspection): [string, string][] {
  const stats = log.stats;
  const verdict = log.problem !== undefined ? `INVALID: ${log.problem}` : stats!.corrupt.count > 0 ? `INVALID: ${stats!.corrupt.count} corrupt blocks` : "valid";
  const rows: [string, string][] = [["record log", verdict]];
  if (stats === undefined) return rows;
  rows.push(
    ["log block size", bytes(stats.blockSizeBytes)],
    ["log blocks claimed", `${stats.blocks} (${stats.sealed.count} sealed, ${stats.open.count} open, ${stats.claiming.count} being claimed)`],
    ["log records", `${stats.committed.count} committed, ${bytes(stats.committed.bytes)}`],
    ["log holes", `${stats.holes.count}, ${bytes(stats.holes.bytes)} (blocks claimed by writers that died before stamping them)`],
    ["log abandoned", `${stats.abandoned.count} blocks, ${stats.abandoned.records} records begun and never committed, ${bytes(stats.abandoned.bytes)} unused`],
    ["log corrupt blocks", `${stats.corrupt.count}, ${bytes(stats.corrupt.bytes)}`],
    ["log slack", `${bytes(stats.slackBytes)} (unused tails of sealed blocks)`],
  );
  return rows;
}

/** Valid, or a creation the next open redoes. An empty file is not an arena yet. */
function isHealthy(validation: Validation): boolean {
  return validation.status === "valid" || validation.status === "creation-interrupted";
}

/** package.json's version: read at run time, so that it is the installed package's. */
function packageVersion(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return String((manifest as { version?: unknown }).version);
}

function usageError(message: string): CliResult {
  return usageErrorOf(message, usage);
}

/**
 * An ArenaError carries the code the library throws for the same file (see
 * inspectArenaFile): a file that is not an arena exits 1, a path that cannot be
 * read exits 2.
 */
function failure(error: unknown, json: boolean): CliResult {
  if (!(error instanceof ArenaError)) {
    // A bug, not bad input: still one line, but say it is ours.
    return { exitCode: exitUsage, stdout: "", stderr: `mapped-file-arena: internal error: ${String(error)}\n` };
  }
  const notArena = error.code === "ERR_ARENA_CORRUPT" || error.code === "ERR_ARENA_HEADER_MISMATCH";
  const exitCode = notArena ? exitInvalid : exitUsage;
  const message = error.message + directoryHint(error);
  if (json) {
    const body = { path: error.path, error: { code: error.code, message } };
    return { exitCode, stdout: `${JSON.stringify(body, null, 2)}\n`, stderr: "" };
  }
  return { exitCode, stdout: "", stderr: `mapped-file-arena: ${message}\n` };
}

/** inspect and verify read one file; a directory given to them is most likely a content store's. */
function directoryHint(error: ArenaError): string {
  if (error.code !== "ERR_ARENA_NOT_A_FILE" || error.path === undefined) return "";
  const isDirectory = statSync(error.path, { throwIfNoEntry: false })?.isDirectory() === true;
  return isDirectory ? " (inspect and verify read one file; for a content store's directory, use `mapped-file-arena cas stats DIR` or `cas validate DIR`)" : "";
}

/** When the header was found at another offset than the one asked for, says so. */
function describeOffset(inspection: Inspection): string {
  const { headerOffset, requestedHeaderOffset } = inspection;
  return headerOffset === requestedHeaderOffset ? "" : `header found at offset ${headerOffset}, not at ${requestedHeaderOffset}`;
}

function describeValidation(inspection: Inspection): string {
  const { validation } = inspection;
  if (validation.status === "valid") {
    return `valid arena, ${bytes(inspection.usedBytes)} of ${bytes(inspection.capacityBytes)} used`;
  }
  if (validation.status === "creation-interrupted") {
    return "creation was interrupted; the next open creates the arena afresh";
  }
  if (validation.status === "empty") return "empty (0 bytes), not an arena yet; the next open creates one here";
  return `INVALID (${validation.code}): ${validation.reason}`;
}

function toJson(inspection: Inspection) {
  const word = (value: bigint) => (value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString());
  const { header } = inspection;
  return {
    path: inspection.path,
    headerOffset: inspection.headerOffset,
    requestedHeaderOffset: inspection.requestedHeaderOffset,
    header: {
      bumpPtr: word(header.bumpPtr),
      allocatedSize: word(header.allocatedSize),
      capacity: word(header.capacity),
      headerOffset: word(header.headerOffset),
    },
    usedBytes: inspection.usedBytes,
    capacityBytes: inspection.capacityBytes,
    usedPercent: Math.round(inspection.usedPercent * 100) / 100,
    diskReservedBytes: inspection.diskReservedBytes,
    fileSizeBytes: inspection.fileSizeBytes,
    openState: inspection.openState,
    validation: inspection.validation,
  };
}

/** verify's one line for a database file. */
function describeDatabase(tables: DatabaseInspection): string {
  const { check, table, trie } = tables;
  if (check.status === "invalid") return `INVALID (${check.code}): ${check.reason}`;
  const what = `${table.kindName} ${JSON.stringify(table.name)}`;
  if (trie === undefined) return `valid database file, ${what}`;
  const { records, leakedBytes } = trie.validation;
  return `valid database file, ${what}: ${records} records, ${bytes(leakedBytes)} leaked by lost races`;
}

/** inspect's rows for a database file's table. */
function databaseRows(tables: DatabaseInspection): [string, string][] {
  const rows: [string, string][] = [
    ["database", `LLVM DatabaseFile, version ${tables.version}`],
    ["table", `${tables.table.kindName} ${JSON.stringify(tables.table.name)} at offset ${tables.table.offset}`],
  ];
  const { trie, dataAllocator } = tables;
  if (trie !== undefined) {
    const v = trie.validation;
    rows.push(
      ["hash / data", `${trie.hashBits} bits / ${trie.dataBytes} bytes per record`],
      ["root / subtrie bits", `${trie.rootBits} / ${trie.subtrieBits}`],
      ["records", `${v.records} in ${v.subtries} subtries, ${v.maxDepth} levels deep`],
      ["reachable / leaked", `${bytes(v.reachableBytes)} / ${bytes(v.leakedBytes)}`],
    );
  }
  if (dataAllocator !== undefined) {
    rows.push(["user header", bytes(dataAllocator.userHeaderBytes)], ["blocks", `${bytes(dataAllocator.dataBytes)} after the table`]);
  }
  rows.push(["table check", describeDatabase(tables)]);
  return rows;
}

function formatTable(inspection: Inspection, tables?: DatabaseInspection, log?: LogFileInspection): string {
  const { header } = inspection;
  const { headerOffset, requestedHeaderOffset } = inspection;
  const hexWord = (value: bigint) => `0x${value.toString(16).padStart(16, "0")}  ${value}`;
  const open: Record<Inspection["openState"], string> = {
    open: "yes (a process holds the .shared lock)",
    "not open": "no",
    "no lock file": `no (no ${inspection.path}.shared)`,
    unknown: `unknown (${inspection.path}.shared cannot be opened)`,
  };
  const rows: [string, string][] = [
    ["file", inspection.path],
    ["header offset", `${headerOffset}${headerOffset === requestedHeaderOffset ? "" : ` (found here, not at ${requestedHeaderOffset})`}`],
    ["word 0  bumpPtr", hexWord(header.bumpPtr)],
    ["word 1  allocatedSize", hexWord(header.allocatedSize)],
    ["word 2  capacity", hexWord(header.capacity)],
    ["word 3  headerOffset", hexWord(header.headerOffset)],
    [
      "used / capacity",
      `${bytes(inspection.usedBytes)} / ${bytes(inspection.capacityBytes)} (${inspection.usedPercent.toFixed(1)} %)`,
    ],
    ["disk reserved", `${bytes(inspection.diskReservedBytes)} (st_blocks x 512)`],
    ["file size", bytes(inspection.fileSizeBytes)],
    ["open by a process", open[inspection.openState]],
    ["header", describeValidation(inspection)],
    ...(tables === undefined ? [] : databaseRows(tables)),
    ...(log === undefined ? [] : logRows(log)),
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}\n`).join("");
}

/** 1234567 -> "1.18 MiB (1234567 B)"; small values stay in bytes. */
function bytes(count: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  if (count < 1024) return `${count} B`;
  let value = count;
  let unit = "B";
  for (const next of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return `${value.toFixed(2)} ${unit} (${count} B)`;
}
