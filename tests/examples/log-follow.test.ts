/**
 * `bun examples/log.ts follow FILE` is a reader: it opens the log read-only and
 * never writes to it (the file is byte-for-byte the same while it follows and
 * after), waits for a writer to create a log that is not there yet, creates
 * nothing itself, prints records of any format plainly (text, or hex), and exits
 * cleanly on SIGINT and SIGTERM.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { RecordLog } from "../../lib/index.ts";
import { lineReader } from "../support/processes.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const script = join(import.meta.dir, "..", "..", "examples", "log.ts");
const directory = tempDirectory("example-follow-");
const encoder = new TextEncoder();

function follow(path: string) {
  const child = Bun.spawn([process.execPath, script, "follow", path], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  void child.exited.then(() => clearTimeout(timer));
  return { child, stdout: lineReader(child.stdout), stderr: lineReader(child.stderr) };
}

/** A log of another program: JSON lines, a text with a newline, and bytes that are not UTF-8. */
function foreignLog(path: string): void {
  using log = RecordLog.open(path, { capacity: 64 * 1024 * 1024, blockSize: 4096 });
  log.append(encoder.encode(`{"a":"b","seq":0}`));
  log.append(encoder.encode("two\nlines"));
  log.append(new Uint8Array([0xff, 0x00, 0x41]));
}

describe("examples/log.ts follow", () => {
  test("follows another program's log read-only: prints text and hex, the file never changes, SIGINT exits 0", async () => {
    const path = freshPath(directory, "log");
    foreignLog(path);
    const before = readFileSync(path);
    const { child, stdout } = follow(path);
    expect(await stdout.waitFor((line) => line.endsWith(`{"a":"b","seq":0}`), 60_000)).toMatch(/^\d+\t\{"a":"b","seq":0\}$/);
    expect(await stdout.waitFor(() => true)).toMatch(/^\d+\ttwo\\x0alines$/);
    expect(await stdout.waitFor(() => true)).toMatch(/^\d+\t\(3 bytes, not UTF-8\) ff0041$/);
    // While it follows, and after: the same bytes, the same size.
    expect(readFileSync(path).equals(before)).toBe(true);
    child.kill("SIGINT");
    expect(await stdout.waitFor(() => true)).toBe("follower: read 3 records, 3 in other formats, 0 out of order or damaged");
    expect(await child.exited).toBe(0);
    expect(statSync(path).size).toBe(before.length);
    expect(readFileSync(path).equals(before)).toBe(true);
  }, 120_000);

  test("a missing log: waits without creating anything, and SIGTERM ends the wait with exit 0", async () => {
    const path = freshPath(directory, "log");
    const { child, stderr } = follow(path);
    await stderr.waitFor((line) => line.startsWith("waiting for a writer to create"), 60_000);
    expect(existsSync(path)).toBe(false);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.shared`)).toBe(false);
  }, 120_000);

  test("a missing log: once a writer creates it, its records are printed", async () => {
    const path = freshPath(directory, "log");
    const { child, stdout, stderr } = follow(path);
    await stderr.waitFor((line) => line.startsWith("waiting for a writer to create"), 60_000);
    {
      using writer = RecordLog.open(path, { capacity: 8 * 1024 * 1024, blockSize: 4096 });
      writer.append(encoder.encode("created later"));
    }
    expect(await stdout.waitFor((line) => line.endsWith("created later"), 60_000)).toMatch(/^\d+\tcreated later$/);
    child.kill("SIGINT");
    expect(await child.exited).toBe(0);
  }, 120_000);
});
