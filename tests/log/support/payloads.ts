/**
 * Self-checking record payloads for the log tests: who wrote it (writer id), which
 * of its records it is (sequence), and a body whose bytes depend on both and on
 * their index, of a length that varies with the sequence. A follower can tell a
 * whole record from a torn, shifted or foreign one, and each writer's order.
 */
export const payloadHeaderBytes = 8;

/** 8 to ~300 bytes, varying so records straddle block ends at many offsets. */
export function payloadLength(writer: number, sequence: number): number {
  return payloadHeaderBytes + ((sequence * 37 + writer * 11) % 293);
}

function bodyByte(writer: number, sequence: number, index: number): number {
  return (writer * 131 + sequence * 31 + index * 7 + 1) & 0xff;
}

export function makePayload(writer: number, sequence: number): Uint8Array {
  const bytes = new Uint8Array(payloadLength(writer, sequence));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, writer, true);
  view.setUint32(4, sequence, true);
  for (let i = payloadHeaderBytes; i < bytes.length; i++) bytes[i] = bodyByte(writer, sequence, i);
  return bytes;
}

/** The (writer, sequence) of a whole payload, or undefined for a damaged one. */
export function readPayload(bytes: Uint8Array): { writer: number; sequence: number } | undefined {
  if (bytes.length < payloadHeaderBytes) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const writer = view.getUint32(0, true);
  const sequence = view.getUint32(4, true);
  if (bytes.length !== payloadLength(writer, sequence)) return undefined;
  for (let i = payloadHeaderBytes; i < bytes.length; i++) if (bytes[i] !== bodyByte(writer, sequence, i)) return undefined;
  return { writer, sequence };
}

/**
 * What a reader checks as records arrive: each writer's sequences come exactly
 * once, in order, from 0, and every payload is whole.
 */
export class OrderChecker {
  /** Next expected sequence per writer = records read from it. */
  readonly next = new Map<number, number>();
  problems: string[] = [];
  total = 0;

  accept(bytes: Uint8Array): void {
    this.total += 1;
    const payload = readPayload(bytes);
    if (payload === undefined) return this.#problem(`damaged record of ${bytes.length} bytes`);
    const expected = this.next.get(payload.writer) ?? 0;
    if (payload.sequence !== expected) {
      this.#problem(`writer ${payload.writer}: sequence ${payload.sequence}, expected ${expected}`);
    }
    this.next.set(payload.writer, Math.max(expected, payload.sequence + 1));
  }

  counts(): Record<string, number> {
    return Object.fromEntries([...this.next.entries()].sort(([a], [b]) => a - b).map(([writer, n]) => [String(writer), n]));
  }

  #problem(problem: string): void {
    if (this.problems.length < 20) this.problems.push(problem);
  }
}
