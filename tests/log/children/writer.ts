/**
 * A log writer for the multi-process and crash tests.
 *
 *   bun writer.ts KIND PATH WRITER_ID COUNT PROGRESS_PATH [single|mixed] [DIE_UNCOMMITTED_AFTER]
 *
 * Appends COUNT records (or forever, for COUNT "forever", until killed) made by
 * makePayload(WRITER_ID, sequence), storing its progress after each append (or
 * batch) returns. "mixed" appends some records in batches of 1 to 40. With
 * DIE_UNCOMMITTED_AFTER (length-last kind only), after that many records it
 * allocates and fills one more and SIGKILLs itself before the commit store: the
 * worst instruction to die at, made certain.
 */
import { makePayload } from "../support/payloads.ts";
import { openProgress } from "../support/progress.ts";
import { logCapacity, openTestLog, type LogKind } from "../support/log-kinds.ts";
import { LengthLastLog } from "../support/length-last-log.ts";

const [kind, path, idText, countText, progressPath, mode = "single", dieText] = process.argv.slice(2);
const writer = Number(idText);
const count = countText === "forever" ? Number.POSITIVE_INFINITY : Number(countText);
const { words } = openProgress(progressPath!);

if (dieText !== undefined) {
  const log = new LengthLastLog(path!, logCapacity);
  const dieAfter = Number(dieText);
  for (let sequence = 0; sequence < dieAfter; sequence++) {
    log.append(makePayload(writer, sequence));
    Atomics.store(words, writer, BigInt(sequence + 1));
  }
  log.begin(makePayload(writer, dieAfter));
  process.kill(process.pid, "SIGKILL");
}

const log = openTestLog(kind as LogKind, path!);
let sequence = 0;
let batchState = writer * 7919 + 1;
while (sequence < count) {
  batchState = (batchState * 1103515245 + 12345) & 0x7fffffff;
  const batch = mode === "mixed" && batchState % 3 === 0 ? 1 + (batchState % 40) : 0;
  if (batch > 0) {
    const records = Array.from({ length: Math.min(batch, count - sequence) }, (_, i) => makePayload(writer, sequence + i));
    log.appendBatch(records);
    sequence += records.length;
  } else {
    log.append(makePayload(writer, sequence));
    sequence += 1;
  }
  Atomics.store(words, writer, BigInt(sequence));
}
log.close();
