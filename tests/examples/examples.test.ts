// Every example in examples/ runs, with small sizes, and says it worked. Each
// example checks its own results (the log's follower checks every record's order
// and content; the blob store reads every blob back by hash), so a wrong answer
// shows as a non-zero exit and a message, which is what is checked here.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const examples = join(import.meta.dir, "..", "..", "examples");

function runExample(script: string, ...args: string[]) {
  const result = Bun.spawnSync([process.execPath, join(examples, script), ...args], { stdout: "pipe", stderr: "pipe" });
  return { exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

describe("examples/log.ts", () => {
  test("3 writers append, a follower reads every record in order, the progress line reaches the total", () => {
    const result = runExample("log.ts", "--writers", "3", "--records", "3000");
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("log: 9000/9000 records");
    expect(result.stdout).toContain("follower: read 9000 records (per writer 0:3000 1:3000 2:3000), 0 out of order or damaged");
    expect(result.stdout).toMatch(/3 writers appended 9000 records \(\d+ bytes\)/);
  });
});

describe("examples/blob-store.ts", () => {
  test("4 processes put overlapping blobs; each is stored once and reads back by its hash", () => {
    const result = runExample("blob-store.ts", "--processes", "4", "--blobs", "400");
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("4 processes made 1600 puts of 200 distinct blobs: 200 stored, 1400 deduplicated");
    expect(result.stdout).toContain("index holds 200 blobs; 200/200 read back and verified; unknown hash not found");
    expect(result.stdout).toContain("blob store: ok");
  });
});
