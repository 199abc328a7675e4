/**
 * argv: log path, record count, then steps run in order:
 *   open      RecordLog.openReadOnly(path)
 *   records   scan records() and read(position) of each: record i must be "record <i>"
 *   follow    print "following", then follow() from the start until `count` records
 *             came (or 60 s pass), checking each as records does
 *   refuse    append and appendBatch: record what each throws
 *   scribble  write 0xEE over the first record through its view and read it back
 *             (a private page: the file must not change)
 *   close     close the log
 * Prints one JSON object last. Runs in its own process: a crash is a reported signal.
 */
import { RecordLog } from "../../../lib/index.ts";
import { errorCodeOf } from "../../support/error-code.ts";

const [path, countText, ...steps] = process.argv.slice(2) as [string, string, ...string[]];
const count = Number(countText);
const report: Record<string, unknown> = {};
const decoder = new TextDecoder();
let log: RecordLog | undefined;

for (const step of steps) {
  if (step === "open") {
    log = RecordLog.openReadOnly(path);
    report.readOnly = log.readOnly;
  } else if (step === "records") {
    let seen = 0;
    let right = 0;
    let readRight = 0;
    for (const { position, bytes } of log!.records()) {
      if (decoder.decode(bytes) === `record ${seen}`) right++;
      if (decoder.decode(log!.read(position)) === `record ${seen}`) readRight++;
      seen++;
    }
    Object.assign(report, { records: seen, recordsRight: right, readRight, committed: log!.stats().committed.count });
  } else if (step === "follow") {
    process.stdout.write("following\n");
    const stop = AbortSignal.timeout(60_000);
    let followed = 0;
    let right = 0;
    for await (const { bytes } of log!.follow(0, { signal: stop })) {
      if (decoder.decode(bytes) === `record ${followed}`) right++;
      if (++followed === count) break;
    }
    Object.assign(report, { followed, followRight: right });
  } else if (step === "refuse") {
    report.refused = {
      append: errorCodeOf(() => log!.append(new Uint8Array(8))),
      appendBatch: errorCodeOf(() => log!.appendBatch([new Uint8Array(8)])),
      sync: errorCodeOf(() => log!.sync()),
    };
  } else if (step === "scribble") {
    const first = log!.records().next().value!;
    first.bytes.fill(0xee);
    report.scribbledReadsBack = log!.read(first.position).every((byte) => byte === 0xee);
  } else if (step === "close") log!.close();
  else throw new Error(`unknown step ${step}`);
}
process.stdout.write(`${JSON.stringify(report)}\n`);
