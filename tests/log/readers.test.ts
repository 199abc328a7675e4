/**
 * How a reader opens a log, and what it is told: RecordLog.waitForLog waits for a
 * writer to create the log (retrying the "not yet" errors only, bounded by its
 * timeout and signal) and opens it read-only; the "not created yet" and "closed"
 * messages say what is going on; a writer's open of a log it may only read names
 * openReadOnly; and where records(p + 1) and follow(p + 1) resume.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RecordLog } from "../../lib/index.ts";
import { expectArenaError } from "../support/expect.ts";
import { asOtherUserPrefix, finished } from "../support/processes.ts";
import { withReadOnlyMount } from "../support/read-only-mount.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("log-readers-");
const capacity = 8 * 1024 * 1024;
const blockSize = 4096;
const bytesOf = (value: string) => new TextEncoder().encode(value);
const textOf = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, the promise resolved");
}

describe("RecordLog.waitForLog", () => {
  test("a missing log: waits, then opens it read-only once a writer creates it", async () => {
    const path = freshPath(directory, "log");
    // The first try runs within the call, before any await: it fails for certain.
    const waiting = RecordLog.waitForLog(path, { timeoutMs: 120_000 });
    expect(existsSync(path)).toBe(false);
    using writer = RecordLog.open(path, { capacity, blockSize });
    writer.append(bytesOf("first"));
    using reader = await waiting;
    expect(reader.readOnly).toBe(true);
    expect([...reader.records()].map(({ bytes }) => textOf(bytes))).toEqual(["first"]);
  });

  test("an empty file (a writer between its create and its lock): ERR_ARENA_NOT_CREATED is retried too", async () => {
    const path = freshPath(directory, "log");
    writeFileSync(path, "");
    expect(expectArenaError(() => RecordLog.openReadOnly(path), "ERR_ARENA_NOT_CREATED").message).toContain("a writer may be creating it right now");
    const waiting = RecordLog.waitForLog(path, { timeoutMs: 120_000 });
    using writer = RecordLog.open(path, { capacity, blockSize });
    writer.append(bytesOf("made"));
    using reader = await waiting;
    expect([...reader.records()].map(({ bytes }) => textOf(bytes))).toEqual(["made"]);
  });

  test("past timeoutMs: the last 'not yet' error, saying how long it waited; nothing is created", async () => {
    const path = freshPath(directory, "log");
    const error = await rejection(RecordLog.waitForLog(path, { timeoutMs: 30 }));
    expect(error.code).toBe("ENOENT");
    expect(error.message).toContain("(waited 30 ms for a writer to create it)");
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.shared`)).toBe(false);
  });

  test("an abort ends the wait with the signal's reason", async () => {
    const path = freshPath(directory, "log");
    const stop = new AbortController();
    const waiting = RecordLog.waitForLog(path, { timeoutMs: Infinity, signal: stop.signal });
    stop.abort();
    expect((await rejection(waiting)).name).toBe("AbortError");
    expect(existsSync(path)).toBe(false);
  });

  test("a file that is not a log is refused at once, not waited for; wrong options throw at the call", async () => {
    const path = freshPath(directory, "text");
    writeFileSync(path, "not a log at all, and long enough to have a header".repeat(100));
    const before = readFileSync(path);
    expect((await rejection(RecordLog.waitForLog(path, { timeoutMs: Infinity }))).code).toBe("ERR_LOG_CORRUPT");
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(() => RecordLog.waitForLog(path, { timeoutMs: -1 })).toThrow(/options\.timeoutMs/);
    expect(() => RecordLog.waitForLog(path, { timeoutMs: Number.NaN })).toThrow(RangeError);
    expect(() => RecordLog.waitForLog(path, { signal: {} as AbortSignal })).toThrow(/options\.signal/);
    expect(() => RecordLog.waitForLog(path, null as unknown as {})).toThrow(TypeError);
    expect(() => RecordLog.waitForLog(7 as unknown as string)).toThrow(/path/);
  });
});

describe("what the log says", () => {
  test("a closed log's errors name the record log, not its arena", () => {
    const path = freshPath(directory, "log");
    const log = RecordLog.open(path, { capacity, blockSize });
    log.close();
    for (const call of [() => log.append(bytesOf("x")), () => log.records(), () => log.stats(), () => log.follow()]) {
      const error = expectArenaError(call, "ERR_ARENA_CLOSED");
      expect(error.message).toBe(`the record log is closed: ${path}`);
    }
  });

  test("a writer's open of a log the user may only read (EACCES) names RecordLog.openReadOnly", async () => {
    const folder = join(directory, "read-only-folder");
    mkdirSync(folder);
    const path = join(folder, "events.log");
    RecordLog.open(path, { capacity, blockSize }).close();
    rmSync(`${path}.shared`);
    chmodSync(directory, 0o755);
    chmodSync(path, 0o444);
    chmodSync(folder, 0o555);
    // Root may write anything: then the opener runs as nobody (setpriv).
    const child = Bun.spawn([...asOtherUserPrefix(), process.execPath, join(import.meta.dir, "children", "open-log-error.ts"), path], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    try {
      const before = readFileSync(path);
      const result = await finished(child);
      expect(result.stderr).toBe("");
      const report = JSON.parse(result.stdout);
      expect(report.code).toBe("EACCES");
      expect(report.message).toContain("to read it without writing, open it with RecordLog.openReadOnly(path)");
      expect(readFileSync(path).equals(before)).toBe(true);
    } finally {
      chmodSync(folder, 0o755); // so the temp folder can be removed
    }
  }, 60_000);

  test("on a read-only mount (EROFS) too; a missing log there gets no hint (it cannot be read either)", async () => {
    const root = join(directory, "ro-mount");
    const path = join(root, "events.log");
    await withReadOnlyMount(root, () => RecordLog.open(path, { capacity, blockSize }).close(), async () => {
      const before = readFileSync(path);
      const error = expectArenaError(() => RecordLog.open(path, { capacity, blockSize }), "EROFS");
      expect(error.message).toContain("to read it without writing, open it with RecordLog.openReadOnly(path)");
      expect(readFileSync(path).equals(before)).toBe(true);
      const missing = expectArenaError(() => RecordLog.open(join(root, "missing.log"), { capacity, blockSize }), "EROFS");
      expect(missing.message).not.toContain("openReadOnly");
    });
  });
});

describe("resuming after a saved position p", () => {
  test("records(p + 1) and follow(p + 1) start at the record after p", async () => {
    const path = freshPath(directory, "log");
    using log = RecordLog.open(path, { capacity, blockSize });
    const positions = ["a", "b", "c"].map((text) => log.append(bytesOf(text)));
    const after = positions[1]! + 1;
    expect([...log.records(after)].map(({ position }) => position)).toEqual([positions[2]!]);
    expect([...log.records(positions[1]!)].map(({ position }) => position)).toEqual(positions.slice(1));
    const stop = new AbortController();
    const followed: number[] = [];
    for await (const { position } of log.follow(after, { signal: stop.signal })) {
      followed.push(position);
      stop.abort();
    }
    expect(followed).toEqual([positions[2]!]);
  });

  test("with two writers, follow(p + 1) skips a record committed after p into an earlier, still open block", async () => {
    const path = freshPath(directory, "log");
    using first = RecordLog.open(path, { capacity, blockSize });
    using second = RecordLog.open(path, { capacity, blockSize });
    first.append(bytesOf("first writer, block 0"));
    const saved = second.append(bytesOf("second writer, block 1"));
    const late = first.append(bytesOf("first writer again, still block 0"));
    expect(late).toBeLessThan(saved);
    const endMark = second.append(bytesOf("marks the end"));
    const followFrom = async (from: number) => {
      const stop = new AbortController();
      const seen: number[] = [];
      for await (const { position } of first.follow(from, { signal: stop.signal })) {
        seen.push(position);
        if (position === endMark) stop.abort();
      }
      return seen;
    };
    // Every record of the first writer's block is below p, committed before or after p.
    expect(await followFrom(saved + 1)).toEqual([endMark]);
    expect(await followFrom(0)).toContain(late);
  });
});
