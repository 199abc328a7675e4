/**
 * Reads damaged copies of a log: every reader must finish, skip what is damaged
 * with no error but ArenaError, and follow() must reach every record records()
 * finds. Runs in a child so that a crash or a hang cannot take the test runner.
 *
 *   bun fuzz-reader.ts DIRECTORY CASES SEED
 *
 * Prints one JSON line: {cases, refused, corruptBlocks, records, stalls, errors}.
 */
import { copyFileSync, openSync, closeSync, writeSync, fstatSync } from "node:fs";
import { join } from "node:path";
import { ArenaError, RecordLog } from "../../../lib/index.ts";
import { makePayload } from "../support/payloads.ts";
import { prng } from "../../support/random.ts";

const [directory, casesText, seedText] = process.argv.slice(2);
const random = prng(Number(seedText));
const capacity = 4 * 1024 * 1024;
const blockSize = 4096;
const original = join(directory!, "original.log");
{
  using first = RecordLog.open(original, { capacity, blockSize });
  using second = RecordLog.open(original, { capacity, blockSize });
  for (let i = 0; i < 300; i++) {
    first.append(makePayload(1, i));
    if (i % 3 === 0) second.appendBatch([makePayload(2, i), makePayload(2, i + 1)]);
  }
  second.close(); // first stays unsealed until its own close
}

const summary = { cases: 0, refused: 0, corruptBlocks: 0, records: 0, stalls: 0, errors: [] as string[] };
for (let index = 0; index < Number(casesText); index++) {
  const path = join(directory!, `case-${index}.log`);
  copyFileSync(original, path);
  const fd = openSync(path, "r+");
  const size = fstatSync(fd).size;
  const flips = 1 + Math.floor(random() * 16);
  for (let flip = 0; flip < flips; flip++) {
    // Mostly the blocks; sometimes the log or arena header.
    const at = random() < 0.9 ? 4096 + Math.floor(random() * (size - 4096)) : Math.floor(random() * 4096);
    const bytes = random() < 0.5 ? [Math.floor(random() * 256)] : [0xff, 0xff, 0xff, 0x7f];
    writeSync(fd, Uint8Array.from(bytes), 0, bytes.length, at);
  }
  closeSync(fd);
  summary.cases += 1;
  let log: RecordLog;
  try {
    log = RecordLog.open(path, { capacity, blockSize });
  } catch (error) {
    if (!(error instanceof ArenaError)) summary.errors.push(`open: ${String(error)}`);
    summary.refused += 1;
    continue;
  }
  try {
    const scanned = [...log.records()].length;
    summary.records += scanned;
    summary.corruptBlocks += log.stats().corrupt.count;
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), 5_000);
    let followed = 0;
    for await (const _ of log.follow(0, { signal: stop.signal })) {
      followed += 1;
      if (followed === scanned) stop.abort();
    }
    clearTimeout(timer);
    if (followed < scanned || (scanned === 0 && stop.signal.aborted === false)) summary.stalls += 1;
  } catch (error) {
    if (!(error instanceof ArenaError)) summary.errors.push(String(error));
  } finally {
    log.close();
  }
}
process.stdout.write(`${JSON.stringify(summary)}\n`);
