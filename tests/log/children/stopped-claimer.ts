/**
 * A RecordLog writer stopped (SIGSTOP, so slow, not dead) inside #claimBlock, just
 * after it set its slot's claiming word and before its atomic add: the writer's
 * steps done with the log's own format and slot code, as tests/log/children/
 * dead-writer.ts does, then SIGSTOP of itself. Prints "claiming" first.
 *
 *   bun stopped-claimer.ts PATH CAPACITY
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { openFile } from "../../../lib/native/native.ts";
import { arenaHeaderOffset, slotClaimingWord } from "../../../lib/log/format.ts";
import { takeSlot } from "../../../lib/log/writer-slots.ts";

const [path, capacityText] = process.argv.slice(2);
const arena = MappedFileRegionArena.create(path!, { capacity: Number(capacityText), headerOffset: arenaHeaderOffset });
const header = arena.bytes(0, arenaHeaderOffset);
const slotWords = new Int32Array(header.buffer, header.byteOffset, arenaHeaderOffset / 4);
const fd = openFile(path!, { create: false });
const held = takeSlot(fd, path!, slotWords);
Atomics.store(slotWords, slotClaimingWord(held.slot), 1); // record-log.ts:422
console.log("claiming");
process.kill(process.pid, "SIGSTOP");
await Bun.sleep(60_000);
