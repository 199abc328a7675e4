/**
 * A RecordLog writer that dies at a chosen point of the protocol, made certain by
 * doing the writer's steps itself (with the log's own format and slot code) and
 * SIGKILLing itself there. Random kills of real writers cover the rest.
 *
 *   bun dead-writer.ts PATH WRITER_ID POINT
 *
 * POINT:
 *   claiming    slot taken, claiming flag set, block claimed, no stamp
 *   claimed     block claimed with no claiming flag and no stamp (a foreign claim)
 *   stamped     block stamped, nothing committed
 *   begun       2 records committed, a 3rd written past the commit word
 *   committed   3 records committed, block never sealed
 * Records are makePayload(WRITER_ID, 0, 1, ...), so followers count them.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";
import { openFile } from "../../../lib/native/native.ts";
import {
  arenaHeaderOffset,
  blockCommitWord,
  blockGenerationWord,
  blockHeaderBytes,
  blockOwnerWord,
  recordSpan,
  slotClaimingWord,
} from "../../../lib/log/format.ts";
import { takeSlot } from "../../../lib/log/writer-slots.ts";
import { makePayload } from "../support/payloads.ts";
import { logCapacity, testBlockSize } from "../support/log-kinds.ts";

const [path, idText, point] = process.argv.slice(2);
const writer = Number(idText);
const arena = MappedFileRegionArena.create(path!, { capacity: logCapacity, headerOffset: arenaHeaderOffset });
const header = arena.bytes(0, arenaHeaderOffset);
const slotWords = new Int32Array(header.buffer, header.byteOffset, arenaHeaderOffset / 4);
const fd = openFile(path!, { create: false });
const die = () => process.kill(process.pid, "SIGKILL");

const held = takeSlot(fd, path!, slotWords);
if (point !== "claimed") Atomics.store(slotWords, slotClaimingWord(held.slot), 1);
const start = arena.allocateOffset(testBlockSize);
if (point === "claiming" || point === "claimed") die();
const block = arena.bytes(start, testBlockSize);
const words = new Int32Array(block.buffer, block.byteOffset, testBlockSize / 4);
Atomics.store(words, blockGenerationWord, held.generation);
Atomics.store(words, blockOwnerWord, held.slot + 1);
Atomics.store(slotWords, slotClaimingWord(held.slot), 0);
if (point === "stamped") die();

let at = blockHeaderBytes;
const write = (sequence: number) => {
  const payload = makePayload(writer, sequence);
  words[at >> 2] = payload.length;
  block.set(payload, at + 4);
  at += recordSpan(payload.length);
};
const committed = point === "begun" ? 2 : 3;
for (let sequence = 0; sequence < committed; sequence++) {
  write(sequence);
  Atomics.store(words, blockCommitWord, at);
}
if (point === "begun") write(committed);
die();
