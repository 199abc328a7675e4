// The objects the read-only store tests write and their reader child checks.

/** Object i: "object <i>" then bytes that depend on i, `size` long in all. */
export function objectBytes(i: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const head = new TextEncoder().encode(`object ${i} `);
  bytes.set(head.subarray(0, size));
  for (let at = head.length; at < size; at++) bytes[at] = (i * 31 + at) & 0xff;
  return bytes;
}
