/**
 * `mapped-file-arena log cat FILE [--from POSITION] [--follow] [--format utf8|hex|json]`:
 * every record with its position, in each format; --from resumes; --follow tails
 * until SIGINT/SIGTERM and exits 0, waiting for a log that is not there yet. It
 * only reads: the file stays byte-identical and no FILE.shared appears. Errors are
 * one line and an exit code, as for the rest of the CLI. In-process through
 * mainAsync for the formats and errors; the bin script in a child for following,
 * signals and a reader that goes away.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RecordLog } from "../../lib/index.ts";
import { mainAsync, type CliResult } from "../../lib/cli/cli.ts";
import { lineReader } from "../support/processes.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const bin = join(import.meta.dir, "..", "..", "bin", "mapped-file-arena.ts");
const directory = tempDirectory("cli-log-cat-");
const encoder = new TextEncoder();
const capacity = 8 * 1024 * 1024;
const blockSize = 4096;

/** A closed log (no FILE.shared) of three records: JSON text, text with a tab, newline and backslash, bytes that are not UTF-8. */
function threeRecordLog(): { path: string; positions: number[] } {
  const path = freshPath(directory, "log");
  const log = RecordLog.open(path, { capacity, blockSize });
  const positions = [
    log.append(encoder.encode(`{"seq":0}`)),
    log.append(encoder.encode("a\tb\nc\\d")),
    log.append(new Uint8Array([0xff, 0x5c, 0x41, 0x0a])),
  ];
  log.close();
  rmSync(`${path}.shared`);
  return { path, positions };
}

const run = (...args: string[]): Promise<CliResult> => mainAsync(args);

function expectOneLineError(result: CliResult, exitCode: number, pattern: RegExp): void {
  expect(result.exitCode).toBe(exitCode);
  expect(result.stdout).toBe("");
  expect(result.stderr.split("\n")[0]).toMatch(pattern);
  expect(result.stderr).not.toContain("    at ");
}

describe("log cat", () => {
  test("prints every record's position and bytes, in utf8, hex and json; the file is not changed", async () => {
    const { path, positions } = threeRecordLog();
    const before = readFileSync(path);
    const [p0, p1, p2] = positions as [number, number, number];
    const utf8 = await run("log", "cat", path);
    expect(utf8).toEqual({ exitCode: 0, stderr: "", stdout: `${p0}\t{"seq":0}\n${p1}\ta\\x09b\\x0ac\\\\d\n${p2}\t\\xff\\\\A\\x0a\n` });
    const hex = await run("log", "cat", path, "--format", "hex");
    expect(hex.stdout).toBe(`${p0}\t7b22736571223a307d\n${p1}\t6109620a635c64\n${p2}\tff5c410a\n`);
    const json = (await run("log", "cat", path, "--format", "json")).stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(json).toEqual([
      { position: p0, length: 9, text: `{"seq":0}` },
      { position: p1, length: 7, text: "a\tb\nc\\d" },
      { position: p2, length: 4, hex: "ff5c410a" },
    ]);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(existsSync(`${path}.shared`)).toBe(false);
  });

  test("--from POSITION starts at that record; a printed position + 1 resumes after it", async () => {
    const { path, positions } = threeRecordLog();
    const [, p1, p2] = positions as [number, number, number];
    const lines = async (from: number) => (await run("log", "cat", path, "--from", String(from), "--format", "hex")).stdout;
    expect(await lines(p1)).toBe(`${p1}\t6109620a635c64\n${p2}\tff5c410a\n`);
    expect(await lines(p1 + 1)).toBe(`${p2}\tff5c410a\n`);
    expect(await lines(p2 + 1)).toBe("");
  });

  test("errors: one line and an exit code; a file that is not a log is 1 and left as it was", async () => {
    const missing = join(directory, "missing.log");
    expectOneLineError(await run("log", "cat", missing), 2, /^mapped-file-arena: .*missing\.log(.*ENOENT| does not exist)/);
    expect(existsSync(missing)).toBe(false);
    const text = freshPath(directory, "text");
    writeFileSync(text, "just some text, not a record log\n".repeat(200));
    const before = readFileSync(text);
    expectOneLineError(await run("log", "cat", text), 1, /is not a record log/);
    expect(readFileSync(text).equals(before)).toBe(true);
    const empty = freshPath(directory, "empty");
    writeFileSync(empty, "");
    expectOneLineError(await run("log", "cat", empty), 1, /is empty: no arena has been created in it yet/);
    const { path } = threeRecordLog();
    expectOneLineError(await run("log", "cat"), 2, /log cat needs a FILE/);
    expectOneLineError(await run("log"), 2, /log needs a command/);
    expectOneLineError(await run("log", "tail", path), 2, /unknown log command "tail"/);
    expectOneLineError(await run("log", "cat", path, "extra"), 2, /unexpected argument "extra"/);
    expectOneLineError(await run("log", "cat", path, "--from", "12x"), 2, /--from must be a position/);
    expectOneLineError(await run("log", "cat", path, "--from=-4"), 2, /--from must be a position/);
    expectOneLineError(await run("log", "cat", path, "--format", "base64"), 2, /--format must be one of utf8, hex, json/);
    expect((await run("log", "--help")).stdout).toContain("log cat FILE");
    expect((await run("help")).stdout).toContain("log cat FILE");
  });
});

describe("log cat, the bin script", () => {
  function spawnBin(...args: string[]) {
    const child = Bun.spawn([process.execPath, bin, ...args], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    void child.exited.then(() => clearTimeout(timer));
    return { child, stdout: lineReader(child.stdout), stderr: lineReader(child.stderr) };
  }

  test("--follow prints what is there, then what writers commit, until SIGINT (exit 0)", async () => {
    const { path, positions } = threeRecordLog();
    const { child, stdout } = spawnBin("log", "cat", path, "--follow", "--from", String(positions[1]! + 1), "--format", "hex");
    expect(await stdout.waitFor(() => true, 60_000)).toBe(`${positions[2]}\tff5c410a`);
    let late: number;
    {
      using writer = RecordLog.open(path, { capacity, blockSize });
      late = writer.append(encoder.encode("late"));
    }
    expect(await stdout.waitFor(() => true, 60_000)).toBe(`${late}\t6c617465`);
    child.kill("SIGINT");
    expect(await child.exited).toBe(0);
  }, 120_000);

  test("--follow on a log that is not there yet waits for a writer to create it; SIGTERM exits 0; the followed file is byte-identical", async () => {
    const path = freshPath(directory, "log");
    const { child, stdout, stderr } = spawnBin("log", "cat", path, "--follow");
    expect(await stderr.waitFor(() => true, 60_000)).toBe(`mapped-file-arena: waiting for a writer to create ${path} (SIGINT or SIGTERM stops)`);
    expect(existsSync(path)).toBe(false);
    {
      using writer = RecordLog.open(path, { capacity, blockSize });
      writer.append(encoder.encode("first"));
    }
    expect(await stdout.waitFor(() => true, 60_000)).toMatch(/^\d+\tfirst$/);
    const before = readFileSync(path);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    expect(readFileSync(path).equals(before)).toBe(true);
  }, 120_000);

  test("a reader that goes away (| head -1) ends it quietly with exit 0", () => {
    const path = freshPath(directory, "log");
    {
      using log = RecordLog.open(path, { capacity, blockSize });
      // About 1.3 MB of output: far more than a pipe holds.
      for (let i = 0; i < 20_000; i++) log.append(encoder.encode(`record ${i} ${"x".repeat(50)}`));
    }
    const script = `"$0" "$1" log cat "$2" | head -1; echo "exit \${PIPESTATUS[0]}"`;
    const result = Bun.spawnSync(["bash", "-c", script, process.execPath, bin, path], { stdout: "pipe", stderr: "pipe", timeout: 120_000 });
    expect(result.stderr.toString()).toBe("");
    expect(result.stdout.toString()).toMatch(/^\d+\trecord 0 x+\nexit 0\n$/);
  }, 120_000);
});
