// `mapped-file-arena verify` and `inspect` on record logs: they find the log's
// header by themselves and report committed records, holes and abandoned blocks
// (with counts and bytes); a corrupt block makes verify fail. Run as a user runs
// them: the bin script, in a child process.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { readFileSync, writeFileSync } from "node:fs";
import { RecordLog } from "../../lib/index.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";
import { killed, spawnLogChild, succeeded } from "./support/children.ts";
import { openProgress } from "./support/progress.ts";
import { logCapacity, testBlockSize } from "./support/log-kinds.ts";

const bin = join(import.meta.dir, "..", "..", "bin", "mapped-file-arena.ts");
const directory = tempDirectory("log-cli-");

function run(...args: string[]) {
  const result = Bun.spawnSync([process.execPath, bin, ...args], { stdout: "pipe", stderr: "pipe" });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** A log with 100 records of writer 0, then a hole (dead claimer) and an abandoned block with a record begun. */
async function logWithDeadWriters(): Promise<string> {
  const path = freshPath(directory, "log");
  const progressPath = freshPath(directory, "progress");
  openProgress(progressPath).arena.close();
  RecordLog.open(path, { capacity: logCapacity, blockSize: testBlockSize }).close();
  await succeeded(spawnLogChild("writer.ts", ["record-log", path, 0, 100, progressPath]));
  await killed(spawnLogChild("dead-writer.ts", [path, 1, "claiming"]));
  await killed(spawnLogChild("dead-writer.ts", [path, 2, "begun"]));
  return path;
}

describe("verify and inspect on a record log", () => {
  test("verify reports holes and abandoned blocks with counts and bytes, and passes", async () => {
    const path = await logWithDeadWriters();
    const result = run("verify", path);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("valid record log, 102 records");
    expect(result.stdout).toContain(`1 holes (8.00 KiB (${testBlockSize} B))`);
    expect(result.stdout).toMatch(/1 abandoned blocks \(1 records begun, never committed; [\d.]+ KiB \(\d+ B\) unused\)/);
  }, 60_000);

  test("inspect prints the arena table and the log's rows; --json carries the same stats", async () => {
    const path = await logWithDeadWriters();
    const table = run("inspect", path);
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/header offset\s+4064/);
    expect(table.stdout).toMatch(/record log\s+valid/);
    expect(table.stdout).toMatch(/log holes\s+1, 8\.00 KiB/);
    expect(table.stdout).toMatch(/log abandoned\s+1 blocks, 1 records begun/);
    const json = JSON.parse(run("inspect", path, "--json").stdout);
    expect(json.log.blockSizeBytes).toBe(testBlockSize);
    expect(json.log.stats.committed.count).toBe(102);
    expect(json.log.stats.holes).toEqual({ count: 1, bytes: testBlockSize });
    expect(json.log.stats.abandoned.count).toBe(1);
    expect(json.log.stats.abandoned.records).toBe(1);
  }, 60_000);

  test("a corrupt block: verify exits 1 and says how many; a live writer's block is open, not abandoned", () => {
    const path = freshPath(directory, "log");
    const log = RecordLog.open(path, { capacity: logCapacity, blockSize: testBlockSize });
    for (let i = 0; i < 1000; i++) log.append(new Uint8Array(40));
    const live = run("verify", path);
    expect(live.exitCode).toBe(0);
    expect(live.stdout).toContain("1 open by live writers");
    expect(live.stdout).toContain("0 abandoned blocks");
    log.close();
    const bytes = readFileSync(path);
    bytes.writeInt32LE(0x7fff_fff0, 4096 + 8); // block 0's commit word: past the block
    writeFileSync(path, bytes);
    const result = run("verify", path);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("INVALID record log (1 corrupt blocks, skipped by readers)");
  });
});
