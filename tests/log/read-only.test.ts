/**
 * Issue 13 item 2 for the record log: RecordLog.openReadOnly scans, reads and
 * follows; append and appendBatch throw ERR_ARENA_READ_ONLY; nothing on disk
 * changes, also on a read-only mount. The reading happens in a child
 * (children/read-only-reader.ts), so a crash is a reported signal. The race of a
 * writer's close against a reader, and its broken variant, are the arena's
 * (tests/arena/read-only.test.ts).
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RecordLog } from "../../lib/index.ts";
import { expectArenaError } from "../support/expect.ts";
import { asOtherUserPrefix, lineReader, type ChildResult } from "../support/processes.ts";
import { withReadOnlyMount } from "../support/read-only-mount.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";
import { spawnLogChild } from "./support/children.ts";

const directory = tempDirectory("log-read-only-");
const capacity = 8 * 1024 * 1024;
const blockSize = 4096;
const count = 3000; // about 15 blocks of 4 KiB
const bytesOf = (value: string) => new TextEncoder().encode(value);

function writeRecords(log: RecordLog, from: number, to: number): void {
  for (let i = from; i < to; i++) log.append(bytesOf(`record ${i}`));
}

function makeLog(path: string): void {
  using log = RecordLog.open(path, { capacity, blockSize });
  writeRecords(log, 0, count);
}

/**
 * Runs the reader child (as another user when `asUser` is a setpriv prefix);
 * `whileWaiting` runs once it prints "following".
 */
async function runReader(path: string, records: number, steps: string[], whileWaiting?: () => void, asUser: string[] = []): Promise<Record<string, any>> {
  const args = [path, records, ...steps];
  const child = asUser.length === 0
    ? spawnLogChild("read-only-reader.ts", args)
    : Bun.spawn([...asUser, process.execPath, join(import.meta.dir, "children", "read-only-reader.ts"), ...args.map(String)], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  const stdout = lineReader(child.stdout);
  if (whileWaiting !== undefined) {
    await stdout.waitFor((line) => line === "following", 60_000);
    whileWaiting();
  }
  const line = await stdout.waitFor((text) => text.startsWith("{"), 90_000).catch(() => "");
  await child.exited;
  clearTimeout(timer);
  const result: ChildResult = { exitCode: child.exitCode, signalCode: child.signalCode, stdout: line, stderr: await new Response(child.stderr).text() };
  if (result.exitCode !== 0) throw new Error(`reader failed (${result.exitCode ?? result.signalCode}): ${result.stderr}`);
  return JSON.parse(result.stdout);
}

const allRefused = { append: "ERR_ARENA_READ_ONLY", appendBatch: "ERR_ARENA_READ_ONLY", sync: "no error" };

describe("RecordLog.openReadOnly", () => {
  test("records(), read() and stats() see every record; append and appendBatch refuse; the file does not change", async () => {
    const path = freshPath(directory, "log");
    makeLog(path);
    rmSync(`${path}.shared`);
    const before = readFileSync(path);
    const report = await runReader(path, count, ["open", "records", "refuse", "scribble", "close"]);
    expect(report.readOnly).toBe(true);
    expect(report).toMatchObject({ records: count, recordsRight: count, readRight: count, committed: count });
    expect(report.refused).toEqual(allRefused);
    expect(report.scribbledReadsBack).toBe(true);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(existsSync(`${path}.shared`)).toBe(false);
  });

  test("follow() on the closed log sees what a writer appends after the reader opened, past the file's length at open", async () => {
    const path = freshPath(directory, "log");
    makeLog(path);
    const closedBytes = statSync(path).size;
    let writer: RecordLog | undefined;
    const report = await runReader(path, 2 * count, ["open", "follow", "close"], () => {
      writer = RecordLog.open(path, { capacity, blockSize });
      writeRecords(writer, count, 2 * count);
    });
    writer!.close();
    expect(report).toEqual({ readOnly: true, followed: 2 * count, followRight: 2 * count });
    expect(statSync(path).size).toBeGreaterThan(closedBytes);
  });

  test("a missing file is ENOENT saying a writer creates it, and creates nothing; a file that is not a log is refused", () => {
    const missing = join(directory, "missing.log");
    expect(expectArenaError(() => RecordLog.openReadOnly(missing), "ENOENT").message).toBe(
      `${missing} does not exist: no record log has been created there yet; a writer creates it with RecordLog.open(path, { capacity }) (openReadOnly never creates one)`,
    );
    expect(existsSync(missing)).toBe(false);
    expect(() => RecordLog.openReadOnly(missing, null as unknown as {})).toThrow(TypeError);
    const stranger = freshPath(directory, "stranger");
    writeFileSync(stranger, Buffer.alloc(8192, 0x5a));
    expectArenaError(() => RecordLog.openReadOnly(stranger), "ERR_LOG_CORRUPT");
    expect(readFileSync(stranger).equals(Buffer.alloc(8192, 0x5a))).toBe(true);
  });

  test("on a read-only mount (EROFS)", async () => {
    const root = join(directory, "ro-mount");
    const path = join(root, "events.log");
    await withReadOnlyMount(root, () => makeLog(path), async () => {
      expectArenaError(() => RecordLog.open(path, { capacity, blockSize }), "EROFS");
      const report = await runReader(path, count, ["open", "records", "refuse", "scribble", "close"]);
      expect(report).toMatchObject({ records: count, recordsRight: count, readRight: count, committed: count, refused: allRefused, scribbledReadsBack: true });
    });
  });

  test("a file the user may only read (EACCES), its folder not writable, no PATH.shared", async () => {
    // Root may write anything: then the reader runs as nobody (setpriv, util-linux).
    const folder = join(directory, "others-may-read");
    mkdirSync(folder);
    const path = join(folder, "events.log");
    makeLog(path);
    rmSync(`${path}.shared`);
    chmodSync(directory, 0o755);
    chmodSync(path, 0o444);
    chmodSync(folder, 0o555);
    const asUser = asOtherUserPrefix();
    try {
      const before = readFileSync(path);
      const report = await runReader(path, count, ["open", "records", "refuse", "scribble", "close"], undefined, asUser);
      expect(report).toMatchObject({ records: count, recordsRight: count, readRight: count, committed: count, refused: allRefused, scribbledReadsBack: true });
      expect(readFileSync(path).equals(before)).toBe(true);
      expect(existsSync(`${path}.shared`)).toBe(false);
    } finally {
      chmodSync(folder, 0o755); // so the temp folder can be removed
    }
  });
});
