/**
 * What every subcommand's parsing shares: node:util's parseArgs over
 * `COMMAND OPERAND [--options]`, with a wrong option, a missing operand and a
 * stray argument answered the same way everywhere: the message and the
 * command's usage on stderr, exit 2.
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import type { CliResult } from "./cli.ts";

/** Exit code of a wrong command line (and of a file that cannot be read). */
export const exitUsage = 2;

export function usageError(message: string, usage: string): CliResult {
  return { exitCode: exitUsage, stdout: "", stderr: `mapped-file-arena: ${message}\n${usage}\n` };
}

type ParsedValues<Options extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; allowPositionals: true; options: Options }>
>["values"];

/** A parsed command line: the option values, the command and its operand (a FILE or DIR), if given. */
export interface CommandLine<Options extends ParseArgsOptionsConfig> {
  values: ParsedValues<Options>;
  command: string | undefined;
  operand: string | undefined;
  /** Positionals after the operand: none is expected (checked by requireOperand). */
  extra: string[];
}

/** `args` parsed against `options`, or the usage error parseArgs raised (an unknown option, a missing value). */
export function parseCommandLine<const Options extends ParseArgsOptionsConfig>(args: string[], options: Options, usage: string): CommandLine<Options> | CliResult {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options });
  } catch (error) {
    return usageError((error as Error).message, usage);
  }
  const [command, operand, ...extra] = parsed.positionals;
  return { values: parsed.values as ParsedValues<Options>, command, operand, extra };
}

/** Whether parseCommandLine answered with an error rather than a command line. */
export function isResult<Options extends ParseArgsOptionsConfig>(line: CommandLine<Options> | CliResult): line is CliResult {
  return "exitCode" in line;
}

/** The usage error when `line` has no operand (`what` "needs a `name`") or one too many; else undefined. */
export function operandProblem<Options extends ParseArgsOptionsConfig>(line: CommandLine<Options>, what: string, name: string, usage: string): CliResult | undefined {
  if (line.operand === undefined || line.operand === "") return usageError(`${what} needs a ${name}`, usage);
  if (line.extra.length > 0) return usageError(`unexpected argument ${JSON.stringify(line.extra[0])}`, usage);
  return undefined;
}
