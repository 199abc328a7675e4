/**
 * Self-checking fixed-size records for the crash test: a slot is all zeros (its
 * writer died before writing), a whole record, or a torn one (died mid-write).
 */
export const recordSizeBytes = 48;
const magic = 0x52454344; // "RECD"

function checksum(child: number, sequence: number): number {
  return (Math.imul(child + 1, 0x9e3779b1) ^ Math.imul(sequence + 1, 0x85ebca6b)) >>> 0;
}

function fillByte(child: number, sequence: number): number {
  return (child * 31 + sequence) & 0xff;
}

export function writeRecord(slot: Uint8Array, child: number, sequence: number): void {
  const view = new DataView(slot.buffer, slot.byteOffset, recordSizeBytes);
  slot.fill(fillByte(child, sequence), 16, recordSizeBytes);
  view.setUint32(4, child, true);
  view.setUint32(8, sequence, true);
  view.setUint32(12, checksum(child, sequence), true);
  view.setUint32(0, magic, true); // last: a record with its magic was begun in order
}

export type Slot = { kind: "empty" } | { kind: "record"; child: number; sequence: number } | { kind: "torn" };

export function readSlot(slot: Uint8Array): Slot {
  if (slot.every((byte) => byte === 0)) return { kind: "empty" };
  const view = new DataView(slot.buffer, slot.byteOffset, recordSizeBytes);
  const child = view.getUint32(4, true);
  const sequence = view.getUint32(8, true);
  const whole =
    view.getUint32(0, true) === magic &&
    view.getUint32(12, true) === checksum(child, sequence) &&
    slot.subarray(16).every((byte) => byte === fillByte(child, sequence));
  return whole ? { kind: "record", child, sequence } : { kind: "torn" };
}
