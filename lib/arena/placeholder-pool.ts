/**
 * Address ranges left by closed arenas, kept and reused for the next mapping of
 * the same length.
 *
 * A closed arena's memory cannot simply be unmapped: a view's pointer may still
 * be in use where close() cannot detach it (node:zlib's asynchronous calls read
 * it on a worker thread; a buffer transferred to a stream or a Worker is out of
 * our reach), and touching an unmapped page kills the process. So close() puts
 * private zero pages (a placeholder) under the whole mapping instead, and the
 * addresses stay reserved. Left at that, every close would leak its range: a
 * process that opens and closes in a loop runs out of mappings (the kernel's
 * vm.max_map_count; observed as ENOMEM after ~32,000 cycles). So the ranges are
 * kept here, per length, and the next open of that length maps the file over one
 * of them (MAP_FIXED) instead of taking new addresses.
 *
 * Reuse means a pointer that outlived its arena's close may, later, reach another
 * arena's bytes: never a crash, but a late reader reads them and a late writer
 * changes them. The most recent closes are held back (quarantineRanges), so what
 * is still in flight just after a close (an asynchronous compression, a pending
 * stream read) meets zeros; only a pointer kept across later closes of
 * same-length arenas can alias. A buffer transferred away (which its taker may
 * keep for as long as it likes) never aliases: the range under it is not given
 * to this pool at all (mapping.ts).
 *
 * The pool is the process's, held by the native shim (mfa_pool_put/take), not
 * module state: module state is per thread, and when a Worker ends its module
 * state goes while its ranges stay reserved, so a process that ran jobs in
 * short-lived Workers leaked an arena's capacity of addresses per Worker (review
 * 4, finding 6). Shared, a range one Worker's close left is reused by the next
 * Worker's open, and the quarantine counts every thread's closes. A late pointer
 * of one thread may then reach another thread's arena after two more closes of
 * that length, as it may within one thread. The shim's table holds 4096 ranges;
 * past that a close keeps its range reserved for good (as before, per range).
 */
import { mapFile, poolPlaceholder, takePooledPlaceholder } from "../native/native.ts";

/** How many of the latest placeholders of one length are never reused. */
const quarantineRanges = 2;

/**
 * Maps the first `lengthBytes` of `fd` ("shared" for a writer, "private" for a
 * read-only opener; see mapFile): over the oldest placeholder of that length past
 * the quarantine, else at new addresses. Returns the address. A read-only
 * opener maps the capacity too (read-only.ts), so readers and writers of one
 * capacity reuse each other's ranges (Windows readers map the file's length,
 * and Windows has no placeholders).
 */
export function mapOverPlaceholder(fd: number, lengthBytes: number, path: string, sharing: "shared" | "private" = "shared"): number {
  // Taken out before the call: if MAP_FIXED fails, what is left there is unknown
  // (possibly nothing, and then maybe someone else's next mapping), so the range
  // is forgotten rather than reused or unmapped.
  const address = takePooledPlaceholder(lengthBytes, quarantineRanges);
  return address === 0 ? mapFile(fd, lengthBytes, path, sharing) : mapFile(fd, lengthBytes, path, sharing, address);
}

/** Keeps the placeholder at [address, address + lengthBytes) for a later mapping (if the pool has room). */
export function keepPlaceholder(address: number, lengthBytes: number): void {
  poolPlaceholder(address, lengthBytes);
}
