/**
 * A child process that allocates concurrently with others (see allocate-core.ts).
 * argv: JSON AllocateJob. Prints one record per line ("offset size tag sequence"),
 * then "done", then closes its arenas unless the job says to hold them open until
 * stdin says "close".
 */
import { formatRecord } from "../allocations.ts";
import { runAllocateJob, type AllocateJob } from "./allocate-core.ts";

const job = JSON.parse(process.argv[2]!) as AllocateJob & { holdOpen?: boolean };
const { records, arenas } = runAllocateJob(job);
let out = "";
for (const record of records) out += `${formatRecord(record)}\n`;
process.stdout.write(`${out}done\n`);
if (job.holdOpen) {
  for await (const chunk of Bun.stdin.stream()) {
    if (new TextDecoder().decode(chunk).includes("close")) break;
  }
}
for (const arena of arenas) arena.close();
process.stdout.write("closed\n");
