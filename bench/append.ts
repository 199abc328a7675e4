/**
 * Issue 4, item 2: appending a 64-byte record, against what a user would use
 * instead: fs.writeSync on an O_APPEND descriptor, and bun:sqlite inserts in WAL
 * mode, 1000 rows per transaction. sqlite runs with synchronous=NORMAL (no fsync
 * per commit in WAL mode), and nobody fsyncs the O_APPEND file: none of the three
 * waits for the disk, as the arena does not.
 */
import { Database } from "bun:sqlite";
import { closeSync, constants, ftruncateSync, openSync, writeSync } from "node:fs";
import type { BlockAllocator } from "../lib/index.ts";
import { compare, consume, type Row } from "./harness.ts";
import { GiB, KiB, MiB, RecyclingArena, scratchPath } from "./scratch.ts";

const recordBytes = 64;
const rowsPerTransaction = 1000;

export function benchAppend(): Row[] {
  const record = new Uint8Array(recordBytes).map((_, index) => index);
  const recycling = new RecyclingArena({ capacity: 64 * GiB }, 256 * MiB);
  let blocks: BlockAllocator = recycling.arena.blockAllocator(64 * KiB);

  const appendPath = scratchPath("o-append");
  const fd = openSync(appendPath, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o644);
  let appendedBytes = 0;

  const database = new Database(scratchPath("sqlite"));
  database.run("PRAGMA journal_mode = WAL");
  database.run("PRAGMA synchronous = NORMAL");
  database.run("CREATE TABLE records (data BLOB NOT NULL)");
  const insert = database.prepare("INSERT INTO records (data) VALUES (?)");
  const insertMany = database.transaction((count: number) => {
    for (let i = 0; i < count; i++) insert.run(record);
  });
  let rowsInserted = 0;

  // The kernel's share: the same 64-byte stores into fresh pages of a shared file
  // mapping, with no allocation at all. The first store to each page is a page
  // fault (on ext4 a page_mkwrite), and that, not the arena, is most of append.
  const floorArena = new RecyclingArena({ capacity: 64 * GiB }, 256 * MiB);
  let floorView: Uint8Array = new Uint8Array(0);

  const rows = compare(
    "append 64 B",
    [
      {
        name: "floor: Uint8Array.set of 64 B into fresh mapped pages, no allocation",
        prepare(ops) {
          const arena = floorArena.ensure(ops * recordBytes);
          floorView = arena.bytes(arena.allocateOffset(ops * recordBytes), ops * recordBytes);
        },
        run(ops) {
          const view = floorView;
          for (let i = 0; i < ops; i++) view.set(record, i * recordBytes);
        },
      },
      {
        name: "arena.append(64 B)",
        prepare: (ops) => void recycling.ensure(ops * recordBytes),
        run(ops) {
          const arena = recycling.arena;
          let sum = 0;
          for (let i = 0; i < ops; i++) sum += arena.append(record);
          consume(sum);
        },
      },
      {
        name: "blockAllocator(64 KiB).append(64 B)",
        prepare(ops) {
          // Another candidate may have replaced the arena; so may this one.
          recycling.ensure(ops * recordBytes + 64 * KiB);
          if (blocks.arena !== recycling.arena) blocks = recycling.arena.blockAllocator(64 * KiB);
        },
        run(ops) {
          const allocator = blocks;
          let sum = 0;
          for (let i = 0; i < ops; i++) sum += allocator.append(record);
          consume(sum);
        },
      },
      {
        name: "fs.writeSync, O_APPEND",
        prepare(ops) {
          if (appendedBytes + ops * recordBytes > 256 * MiB) {
            ftruncateSync(fd, 0);
            appendedBytes = 0;
          }
          appendedBytes += ops * recordBytes;
        },
        run(ops) {
          for (let i = 0; i < ops; i++) writeSync(fd, record);
        },
      },
      {
        name: `bun:sqlite WAL insert, ${rowsPerTransaction} rows/txn`,
        opsMultiple: rowsPerTransaction,
        prepare(ops) {
          if (rowsInserted + ops > 2_000_000) {
            database.run("DELETE FROM records");
            database.run("PRAGMA wal_checkpoint(TRUNCATE)");
            rowsInserted = 0;
          }
          rowsInserted += ops;
        },
        run(ops) {
          for (let done = 0; done < ops; done += rowsPerTransaction) insertMany(rowsPerTransaction);
        },
      },
    ],
    { baseline: "arena.append(64 B)" },
  );
  blocks.close();
  recycling.close();
  floorArena.close();
  closeSync(fd);
  insert.finalize();
  database.close();
  return rows;
}
