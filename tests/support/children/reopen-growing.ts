/**
 * Child of tests/arena/read-only-memory.test.ts: CYCLES times, a writer appends STEP bytes and
 * closes (the file shrinks to its new, longer bump pointer), then a reader opens
 * it read-only, makes a view and closes. Prints {vmSizeGrowthBytes, lastFileBytes}.
 *
 *   bun reopen-growing.ts PATH CYCLES STEP
 */
import { readFileSync, statSync } from "node:fs";
import { MappedFileRegionArena } from "../../../lib/index.ts";

const [path, cyclesText, stepText] = process.argv.slice(2) as [string, string, string];
const vmSize = () => Number(/^VmSize:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))![1]) * 1024;
const chunk = new Uint8Array(Number(stepText)).fill(1);
// Warm-up cycles: the writers' capacity-long ranges fill their quarantine (2 kept back) first.
const cycle = () => {
  {
    using writer = MappedFileRegionArena.create(path, { capacity: 1 << 30 });
    writer.append(chunk);
  }
  using reader = MappedFileRegionArena.openReadOnly(path);
  reader.bytes(0, 64);
};
for (let i = 0; i < 4; i++) cycle();
const before = vmSize();
for (let i = 0; i < Number(cyclesText); i++) cycle();
process.stdout.write(`${JSON.stringify({ vmSizeGrowthBytes: vmSize() - before, lastFileBytes: statSync(path).size })}\n`);
