/**
 * A RecordLog writer stopped (SIGSTOP, so slow, not dead) inside #claimFreshBlock,
 * just after it stored its slot's claiming word and before its compare-and-swap:
 * the writer's steps done with the log's own format and slot code, as
 * dead-writer.ts does, then SIGSTOP of itself. Prints "claiming" first.
 *
 *   bun stopped-claimer.ts PATH CAPACITY BLOCKSIZE named|some
 *
 * "named": the claiming word names the block at the bump pointer, as the log's
 * writers store it. "some": it is 1, "some block", as writers before the per-block
 * word stored it, which keeps every unstamped block undecided while it is stopped.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { openFile } from "../../../lib/native/native.ts";
import { arenaHeaderOffset, claimingSomeBlock, claimingValue, firstBlockOffset, slotClaimingWord } from "../../../lib/log/format.ts";
import { takeSlot } from "../../../lib/log/writer-slots.ts";

const [path, capacityText, blockSizeText, kind] = process.argv.slice(2);
const arena = MappedFileRegionArena.create(path!, { capacity: Number(capacityText), headerOffset: arenaHeaderOffset });
const header = arena.bytes(0, arenaHeaderOffset);
const slotWords = new Int32Array(header.buffer, header.byteOffset, arenaHeaderOffset / 4);
const fd = openFile(path!, { create: false });
const held = takeSlot(fd, path!, slotWords);
const index = (arena.size - firstBlockOffset) / Number(blockSizeText);
Atomics.store(slotWords, slotClaimingWord(held.slot), kind === "named" ? claimingValue(index) : claimingSomeBlock);
console.log("claiming");
process.kill(process.pid, "SIGSTOP");
await Bun.sleep(60_000);
