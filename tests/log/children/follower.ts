/**
 * A log follower for the multi-process and crash tests.
 *
 *   bun follower.ts KIND PATH
 *
 * Follows the log from its start and checks every record (OrderChecker). Prints a
 * JSON line {"total","counts","problems"} every 50 ms (so that a silent follower
 * is a dead one), and once more when its stdin closes, which stops it.
 */
import { OrderChecker } from "../support/payloads.ts";
import { openTestLog, type LogKind } from "../support/log-kinds.ts";

const [kind, path] = process.argv.slice(2);
const log = openTestLog(kind as LogKind, path!);
const checker = new OrderChecker();
const stop = new AbortController();
const report = () => process.stdout.write(`${JSON.stringify({ total: checker.total, counts: checker.counts(), problems: checker.problems })}\n`);
const timer = setInterval(report, 50);
(async () => {
  for await (const _ of Bun.stdin.stream()) {
    // nothing is sent; the stream ends when the parent closes it
  }
  stop.abort();
})();
report();
for await (const { bytes } of log.follow(stop.signal)) checker.accept(bytes);
clearInterval(timer);
report();
log.close();
