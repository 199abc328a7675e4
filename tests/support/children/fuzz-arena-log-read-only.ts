/**
 * Child of tests/arena/read-only-fuzz.test.ts and tests/log/read-only-fuzz.test.ts:
 * corrupt arena headers, file sizes and log blocks, each
 * opened READ-ONLY. For an arena: random header words (bump pointer, capacity,
 * header offset, allocatedSize) and a random file length (shorter, longer, not a
 * page multiple); then size, readableBytes, bytes() at random ranges, close. For
 * a log: byte flips in the log header and blocks, and truncations; then
 * records(), forEachRecord, read() at random positions, stats(), a short
 * follow(), close. Only ArenaError (or, for bytes()/read() past what exists, the
 * documented RangeError) may come out.
 *
 *   bun fuzz-arena-log-read-only.ts DIRECTORY SEED CASES arena|log
 */
import { readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ArenaError, MappedFileRegionArena, RecordLog } from "../../../lib/index.ts";
import { prng } from "../random.ts";

const [directory = ".", seedText, casesText, target = "arena"] = process.argv.slice(2);
const random = prng(Number(seedText));
const say = (line: string) => writeSync(1, `${line}\n`);
const below = (limit: number) => Math.floor(random() * limit);

/** Runs a call that may throw ArenaError, or RangeError when `rangeOk`; anything else fails the case. */
function step<T>(name: string, run: () => T, rangeOk = false): T | undefined {
  try {
    return run();
  } catch (error) {
    if (error instanceof ArenaError || (rangeOk && error instanceof RangeError)) return undefined;
    throw new Error(`${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}

const headerOffset = 64;
const arenaPath = join(directory, `arena-${process.pid}`);
const logPath = join(directory, `log-${process.pid}`);
const original = join(directory, `original-${process.pid}`);
if (target === "arena") {
  using arena = MappedFileRegionArena.create(original, { capacity: 1 << 20, headerOffset });
  for (let i = 0; i < 20; i++) arena.append(new Uint8Array(100 + i * 13).fill(i));
} else {
  using log = RecordLog.open(original, { capacity: 1 << 20, blockSize: 4096 });
  for (let i = 0; i < 200; i++) log.append(new Uint8Array(10 + (i % 50)).fill(i));
}
rmSync(`${original}.shared`, { force: true });
const healthy = new Uint8Array(readFileSync(original));

const interesting = (fileBytes: number): bigint =>
  [
    () => 0n,
    () => BigInt(below(fileBytes + 64)),
    () => BigInt(below(fileBytes >> 3) * 8),
    () => BigInt(fileBytes),
    () => BigInt(fileBytes + 8),
    () => 1n << 20n,
    () => (1n << 20n) + 8n,
    () => 1n << BigInt(21 + below(40)),
    () => (1n << 64n) - 8n,
    () => BigInt(headerOffset + 32),
    () => BigInt(headerOffset),
  ][below(11)]!();

for (let index = 0; index < Number(casesText); index++) {
  say(`case ${index}`);
  const file = healthy.slice();
  const steps: string[] = [];
  try {
    if (target === "arena") {
      const view = new DataView(file.buffer);
      for (let change = 1 + below(3); change > 0; change--) {
        const word = below(4);
        const value = interesting(file.length);
        view.setBigUint64(headerOffset + word * 8, BigInt.asUintN(64, value), true);
        steps.push(`word ${word} = ${value}`);
      }
      rmSync(arenaPath, { force: true });
      writeFileSync(arenaPath, file);
      if (random() < 0.5) {
        const length = [0, below(file.length), file.length + below(8192), 1 << 20, (1 << 20) + 4096, headerOffset + 32][below(6)]!;
        truncateSync(arenaPath, length);
        steps.push(`length ${length}`);
      }
      const arena = step("openReadOnly", () => MappedFileRegionArena.openReadOnly(arenaPath, { headerOffset }));
      if (arena) {
        try {
          const size = step("size", () => arena.size)!;
          const readable = arena.readableBytes;
          if (size > readable) throw new Error(`size ${size} is past readableBytes ${readable}`);
          let sum = 0;
          step("bytes(0, readable)", () => {
            for (const byte of arena.bytes(0, readable)) sum += byte;
          });
          for (let probe = 0; probe < 8; probe++) {
            const offset = below(readable + 8192);
            const length = below(8192);
            step(`bytes(${offset}, ${length})`, () => arena.bytes(offset, length).reduce((a, b) => a + b, 0), true);
          }
        } finally {
          step("close", () => arena.close());
        }
      }
    } else {
      rmSync(logPath, { force: true });
      writeFileSync(logPath, file);
      const flips = 1 + below(16);
      const bytes = readFileSync(logPath);
      for (let flip = 0; flip < flips; flip++) {
        const at = random() < 0.85 ? 4096 + below(bytes.length - 4096) : below(4096);
        bytes[at] = random() < 0.5 ? below(256) : 0xff;
        steps.push(`flip ${at}`);
      }
      writeFileSync(logPath, bytes);
      if (random() < 0.3) {
        const length = 4096 + below(bytes.length);
        truncateSync(logPath, length);
        steps.push(`length ${length}`);
      }
      const log = step("openReadOnly", () => RecordLog.openReadOnly(logPath));
      if (log) {
        try {
          const positions: number[] = [];
          step("records", () => {
            let count = 0;
            for (const record of log.records()) {
              positions.push(record.position);
              if (++count > (1 << 20) / 8) throw new Error("records() does not end");
            }
          });
          step("forEachRecord", () => log.forEachRecord(() => true));
          for (const position of positions.slice(0, 5)) step(`read ${position}`, () => log.read(position), true);
          for (let probe = 0; probe < 5; probe++) {
            const position = below(bytes.length + 8192);
            step(`read ${position}`, () => log.read(position), true);
          }
          step("stats", () => log.stats());
        } finally {
          step("close", () => log.close());
        }
      }
    }
  } catch (error) {
    say(`FAIL case ${index}: ${steps.join("; ")}`);
    say(String(error instanceof Error ? (error.stack ?? error.message) : error));
    process.exit(1);
  }
}
rmSync(arenaPath, { force: true });
rmSync(logPath, { force: true });
rmSync(original, { force: true });
say("summary ok");
