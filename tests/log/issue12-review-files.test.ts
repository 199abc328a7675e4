// Issue 12, from an independent review of the record log: files that are not
// logs (a FIFO must not hang anyone; in children with a time limit), a log whose
// claimed end is off its block grid or went down onto written blocks, and use
// after close().
import { describe, expect, test } from "bun:test";
import { openSync, closeSync, writeSync, readSync } from "node:fs";
import { join } from "node:path";
import { ArenaError, RecordLog } from "../../lib/index.ts";
import { main } from "../../lib/cli/cli.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";
import { finished, type Child } from "../support/processes.ts";

const directory = tempDirectory("review-log-files-");
const options = { capacity: 16 * 1024 * 1024, blockSize: 4096 };
const bytesOf = (value: string) => new TextEncoder().encode(value);
const root = join(import.meta.dir, "..", "..");

/** Runs a child to its end, or SIGKILLs it after `ms` (a hang): the result says which. */
async function within(child: Child, ms: number) {
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    child.kill("SIGKILL");
  }, ms);
  const result = await finished(child);
  clearTimeout(timer);
  return { ...result, hung };
}

const spawn = (args: string[]) =>
  Bun.spawn([process.execPath, ...args], { stdin: "pipe", stdout: "pipe", stderr: "pipe" }) as unknown as Child;

function fifo(): string {
  const path = freshPath(directory, "fifo");
  expect(Bun.spawnSync(["mkfifo", path]).exitCode).toBe(0);
  return path;
}

describe("issue 12 review: files that are not logs", () => {
  test("RecordLog.open on a FIFO is refused with an ArenaError, not a hang", async () => {
    const result = await within(spawn([join(import.meta.dir, "children", "open-log.ts"), fifo()]), 15_000);
    expect(result.hung).toBe(false);
    expect(result.stdout.trim()).toBe("ERR_ARENA_NOT_A_FILE");
  }, 30_000);

  test("the CLI's verify on a FIFO answers, not a hang", async () => {
    const result = await within(spawn([join(root, "bin", "mapped-file-arena.ts"), "verify", fifo()]), 15_000);
    expect(result.hung).toBe(false);
    expect(result.exitCode).toBe(2);
  }, 30_000);
});

describe("issue 12 review: a claimed end off the block grid", () => {
  /** A log with one record whose bump pointer (file offset 4064) has bit 3 flipped: 8 bytes past its last block. */
  function flippedLog(): string {
    const path = freshPath(directory, "offgrid");
    const log = RecordLog.open(path, options);
    log.append(bytesOf("the only record"));
    // Flipped while the log is open (the file is at its capacity then), as a flip in memory or on disk would be.
    const fd = openSync(path, "r+");
    const word = new Uint8Array(1);
    readSync(fd, word, 0, 1, 4064);
    word[0]! ^= 8;
    writeSync(fd, word, 0, 1, 4064);
    closeSync(fd);
    log.close();
    return path;
  }

  test("verify calls such a log invalid (every append to it throws ERR_LOG_CORRUPT)", () => {
    const path = flippedLog();
    {
      using log = RecordLog.open(path, options);
      expect(() => log.append(bytesOf("x"))).toThrow(/not on the block grid/);
    }
    expect(main(["verify", path]).exitCode).toBe(1);
  });

  test("a refused append claims no capacity (a writer that retries would use the log up)", () => {
    using log = RecordLog.open(flippedLog(), options);
    const before = log.stats().blocks;
    for (let i = 0; i < 3; i++) expect(() => log.append(bytesOf("x"))).toThrow(/not on the block grid/);
    expect(log.stats().blocks).toBe(before);
  });
});

describe("issue 12 review: a full log is full, not off its grid", () => {
  test("a bump pointer left past the capacity (an allocation killed while it backed out) is ERR_ARENA_FULL, and verify says valid", () => {
    const path = freshPath(directory, "past-capacity");
    const capacity = 4096 + 2 * 4096 + 2048; // two whole blocks and half of one
    using first = RecordLog.open(path, { capacity, blockSize: 4096 });
    first.append(bytesOf("a record"));
    // Written while the log is open (the file is at its capacity then).
    const fd = openSync(path, "r+");
    const word = new Uint8Array(8);
    new DataView(word.buffer).setBigUint64(0, BigInt(capacity + 8), true);
    writeSync(fd, word, 0, 8, 4064);
    closeSync(fd);
    using log = RecordLog.open(path, { capacity, blockSize: 4096 });
    expect(() => log.append(bytesOf("x"))).toThrow(expect.objectContaining({ code: "ERR_ARENA_FULL" }));
    expect(log.stats().claimedEndOnGrid).toBe(true);
    expect([...log.records()].length).toBe(1);
    expect(main(["verify", path]).exitCode).toBe(0);
  });
});

describe("issue 12 review: a claimed end flipped down onto written blocks", () => {
  test("a writer refuses to claim a block that already holds records, instead of writing over them", () => {
    const path = freshPath(directory, "flipped-down");
    const before: string[] = [];
    {
      using log = RecordLog.open(path, options);
      for (let i = 0; i < 2000; i++) log.append(bytesOf(`record ${String(i).padStart(4, "0")}`));
      for (const { bytes } of log.records()) before.push(new TextDecoder().decode(bytes));
      expect(log.stats().blocks).toBe(8); // bump pointer 4096 + 8 * 4096 = 0x9000
    }
    // One bit flip on disk: bit 15 of the bump pointer (file offset 4064) clears, 0x9000 becomes 0x1000.
    const fd = openSync(path, "r+");
    const word = new Uint8Array(1);
    readSync(fd, word, 0, 1, 4064 + 1);
    expect(word[0]).toBe(0x90);
    word[0] = 0x10;
    writeSync(fd, word, 0, 1, 4064 + 1);
    closeSync(fd);

    using log = RecordLog.open(path, options);
    let refused = false;
    try {
      log.append(bytesOf("new record"));
    } catch {
      refused = true;
    }
    // Whatever the writer does, the records already committed stay as they were.
    const after = [...log.records()].map(({ bytes }) => new TextDecoder().decode(bytes));
    expect(after.slice(0, before.length)).toEqual(before.slice(0, after.length));
    expect(refused).toBe(true);
  });
});

describe("issue 12 review: after close()", () => {
  test("follow() throws ERR_ARENA_CLOSED; it never yields a record with its bytes gone", async () => {
    const path = freshPath(directory, "closed");
    using writer = RecordLog.open(path, options);
    for (let i = 0; i < 5; i++) writer.append(bytesOf(`record ${i}`));
    const reader = RecordLog.open(path, options);
    const follow = reader.follow(0);
    expect((await follow.next()).value!.bytes.length).toBe(8);
    reader.close();
    const yielded: number[] = [];
    let code: string | undefined;
    try {
      for (let i = 0; i < 5; i++) {
        const next = await follow.next();
        if (next.done) break;
        yielded.push(next.value.bytes.length);
      }
    } catch (error) {
      code = (error as { code?: string }).code;
    }
    expect(yielded).toEqual([]);
    expect(code).toBe("ERR_ARENA_CLOSED");
  });

  test("records() throws ERR_ARENA_CLOSED, not a TypeError about a detached buffer", () => {
    const path = freshPath(directory, "closed-scan");
    using writer = RecordLog.open(path, options);
    for (let i = 0; i < 5; i++) writer.append(bytesOf(`record ${i}`));
    const reader = RecordLog.open(path, options);
    const scan = reader.records();
    scan.next();
    reader.close();
    let code: string | undefined;
    try {
      scan.next();
    } catch (error) {
      code = (error as { code?: string }).code;
    }
    expect(code).toBe("ERR_ARENA_CLOSED");
  });
});

describe("issue 12 review: appendBatch", () => {
  test("a batch cut short by a full log says how many of its records were committed", () => {
    // Capacity for the header and 3 blocks: the batch needs 5.
    using log = RecordLog.open(freshPath(directory, "batch-full"), { capacity: 4096 + 3 * 4096, blockSize: 4096 });
    const batch = Array.from({ length: 5 * 3 }, (_, i) => new Uint8Array(1200).fill(i));
    let error: ArenaError | undefined;
    try {
      log.appendBatch(batch);
    } catch (caught) {
      error = caught as ArenaError;
    }
    expect(error?.code).toBe("ERR_ARENA_FULL");
    const committed = [...log.records()];
    expect(committed.length).toBe(9); // three 1204-byte records per block
    expect(error?.committedRecords).toBe(committed.length);
    expect(committed.map(({ bytes }) => bytes[0])).toEqual(batch.slice(0, 9).map((record) => record[0]));
  });

  test("an array whose element changes between reads is written as it was checked (no block after block)", () => {
    using log = RecordLog.open(freshPath(directory, "batch-getter"), options);
    let reads = 0;
    const records: Uint8Array[] = [new Uint8Array(8)];
    Object.defineProperty(records, 1, {
      get: () => (++reads === 1 ? new Uint8Array(8) : new Uint8Array(2 * options.blockSize)),
      enumerable: true,
      configurable: true,
    });
    log.appendBatch(records);
    expect(reads).toBe(1);
    expect(log.stats().blocks).toBe(1);
    expect([...log.records()].map(({ bytes }) => bytes.length)).toEqual([8, 8]);
  });
});
