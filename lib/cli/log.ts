/**
 * `mapped-file-arena log cat FILE [--from POSITION] [--follow] [--format utf8|hex|json]`:
 * prints a record log's records, one line each: its position, a tab, its bytes.
 *
 * It is a reader and never writes: the log is opened with RecordLog.openReadOnly
 * (with --follow, RecordLog.waitForLog, which waits for a writer to create it),
 * so it works on a file the user may only read and changes no byte. A follower
 * that opened the log as a writer would create it with its own options, grow it
 * to its capacity and rewrite a header word (TRIAL2 #4).
 *
 * Records are bytes, and a line per record needs them printed unambiguously:
 * utf8 writes the text with `\`, control characters and (in a record that is not
 * UTF-8) every byte outside printable ASCII escaped as \xNN; hex writes the bytes
 * in hex; json writes one object per line, with `text` or, for a record that is
 * not UTF-8, `hex`.
 *
 * Output goes out as it is made (a long log is not held in memory; --follow runs
 * until SIGINT or SIGTERM, then exits 0). Exit codes as for the rest of the CLI:
 * 0 done; 1 the file is not a record log (or not one yet: empty); 2 usage, or the
 * path cannot be read.
 */
import { existsSync } from "node:fs";
import { ArenaError } from "../common/errors.ts";
import { RecordLog } from "../log/record-log.ts";
import type { CliResult, CliStreams } from "./cli.ts";
import { isResult, operandProblem, parseCommandLine, usageError as usageErrorOf } from "./command-line.ts";

export const logUsage = `usage: mapped-file-arena log cat FILE [--from POSITION] [--follow] [--format utf8|hex|json]

  log cat FILE       print each committed record of a record log, one line each:
                     its position, a tab, its bytes (read-only: never writes to FILE)
    --from POSITION  start at the first record at or after POSITION (a printed
                     position + 1 resumes after that record)
    --follow, -f     then print records as writers commit them, until SIGINT or
                     SIGTERM (exit 0); waits for a writer to create FILE (and
                     says so on stderr)
    --format F       utf8 (default): the text, with \\ written as \\\\, and control
                     characters and the bytes of a record that is not UTF-8 as
                     \\xNN; hex: the bytes in hex; json: one object per line,
                     {position, length, text} or, for a record that is not UTF-8,
                     {position, length, hex}`;

const formats = ["utf8", "hex", "json"] as const;
type Format = (typeof formats)[number];

/** Output is written in chunks of about this many characters (a scan of a long log). */
const chunkCharacters = 64 * 1024;
/** ERR_ codes that mean "this file is not a record log (yet)": exit 1, as verify does. */
const notALog = new Set(["ERR_LOG_CORRUPT", "ERR_ARENA_CORRUPT", "ERR_ARENA_HEADER_MISMATCH", "ERR_ARENA_NOT_CREATED"]);

const options = {
  from: { type: "string", default: "0" },
  follow: { type: "boolean", short: "f", default: false },
  format: { type: "string", default: "utf8" },
  help: { type: "boolean", short: "h", default: false },
} as const;

export async function logMain(args: string[], streams: CliStreams): Promise<CliResult> {
  const line = parseCommandLine(args, options, logUsage);
  if (isResult(line)) return line;
  const { values, command } = line;
  if (values.help) return { exitCode: 0, stdout: `${logUsage}\n`, stderr: "" };
  if (command !== "cat") return usageError(command === undefined ? "log needs a command" : `unknown log command ${JSON.stringify(command)}`);
  const problem = operandProblem(line, "log cat", "FILE", logUsage);
  if (problem !== undefined) return problem;
  const path = line.operand!;
  const from = Number(values.from);
  if (!/^\d+$/.test(values.from) || !Number.isSafeInteger(from)) {
    return usageError(`--from must be a position (a non-negative integer), got ${JSON.stringify(values.from)}`);
  }
  const format = values.format as Format;
  if (!formats.includes(format)) return usageError(`--format must be one of ${formats.join(", ")}, got ${JSON.stringify(values.format)}`);
  try {
    if (values.follow) await follow(path, from, format, streams);
    else await cat(path, from, format, streams);
    return { exitCode: 0, stdout: "", stderr: "" };
  } catch (error) {
    if (!(error instanceof ArenaError)) return { exitCode: 2, stdout: "", stderr: `mapped-file-arena: internal error: ${String(error)}\n` };
    return { exitCode: notALog.has(error.code) ? 1 : 2, stdout: "", stderr: `mapped-file-arena: ${error.message}\n` };
  }
}

/** What is committed now, in file order, written in chunks. */
async function cat(path: string, from: number, format: Format, streams: CliStreams): Promise<void> {
  using log = RecordLog.openReadOnly(path);
  let chunk = "";
  for (const { position, bytes } of log.records(from)) {
    chunk += formatRecord(position, bytes, format);
    if (chunk.length >= chunkCharacters) {
      await streams.write(chunk);
      chunk = "";
    }
  }
  if (chunk.length > 0) await streams.write(chunk);
}

/** Every record from `from`, as it is committed, until the stop signal; each line written at once. */
async function follow(path: string, from: number, format: Format, streams: CliStreams): Promise<void> {
  const signal = streams.stopSignal();
  if (!existsSync(path)) streams.notice(`mapped-file-arena: waiting for a writer to create ${path} (SIGINT or SIGTERM stops)`);
  let opened: RecordLog;
  try {
    opened = await RecordLog.waitForLog(path, { timeoutMs: Infinity, signal });
  } catch (error) {
    if (signal.aborted) return; // stopped before any writer created the log
    throw error;
  }
  using log = opened;
  for await (const { position, bytes } of log.follow(from, { signal })) await streams.write(formatRecord(position, bytes, format));
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** The record's line: its position, a tab, its bytes as `format` says, a newline. */
function formatRecord(position: number, bytes: Uint8Array, format: Format): string {
  if (format === "hex") return `${position}\t${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")}\n`;
  const text = utf8OrUndefined(bytes);
  if (format === "json") {
    const body = text === undefined ? { hex: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex") } : { text };
    return `${JSON.stringify({ position, length: bytes.length, ...body })}\n`;
  }
  return `${position}\t${text === undefined ? escapeBytes(bytes) : escapeText(text)}\n`;
}

function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

const hexByte = (code: number) => `\\x${code.toString(16).padStart(2, "0")}`;

/** Text with `\` and the control characters escaped, so that a record is one line. */
function escapeText(text: string): string {
  return text.replace(/[\x00-\x1f\x7f\\]/g, (c) => (c === "\\" ? "\\\\" : hexByte(c.charCodeAt(0))));
}

/** A record that is not UTF-8: printable ASCII as it is (`\` doubled), every other byte as \xNN. */
function escapeBytes(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) {
    if (byte === 0x5c) out += "\\\\";
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += hexByte(byte);
  }
  return out;
}

function usageError(message: string): CliResult {
  return usageErrorOf(message, logUsage);
}
