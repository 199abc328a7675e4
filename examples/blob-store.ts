/**
 * A tiny content-addressed blob store, shared by several processes: put(bytes)
 * returns the SHA-256 of the bytes, get(hash) returns them, and the same content is
 * stored once however many processes put it at the same time. This is what LLVM's
 * on-disk CAS builds on MappedFileRegionArena, in a hundred lines.
 *
 *   bun examples/blob-store.ts                         4 processes x 2000 puts
 *   bun examples/blob-store.ts --processes 3 --blobs 200 --path /tmp/blobs.arena
 *
 * Everything lives in the arena file:
 *  - bytes [0, 64): our own header (headerOffset is 64): a magic, and where the
 *    index is. Written once, by the creator, in onCreate.
 *  - the index: an open-addressing hash table of `slots` entries of two 64-bit
 *    words, [key, offset]. key is the first 8 bytes of the hash (never 0: 0 means
 *    empty); offset is where the blob is (0 while it is being written).
 *  - the blobs: [u32 length, u32 zero, 32-byte SHA-256, bytes], one allocation each.
 *
 * put claims an empty slot with a compare-and-swap on its key word, so exactly one
 * process writes each blob; the others find the key, wait for its offset word and
 * reuse the blob. No lock anywhere: a slot's offset is stored (Atomics.store) only
 * after the blob is fully written, so a reader that sees it sees the whole blob.
 */
import { parseArgs } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MappedFileRegionArena } from "../lib/index.ts";

const magic = 0x3176_7473_626f_6c62n; // "blobstv1", little-endian
const userHeaderBytes = 64;
const hashBytes = 32;
const blobHeaderBytes = 8 + hashBytes;

export class BlobStore implements Disposable {
  readonly arena: MappedFileRegionArena;
  /** [key, offset] pairs, over the mapped index: shared by every process. */
  readonly #index: BigInt64Array;
  readonly #slots: number;

  constructor(path: string, options: { capacity: number; slots: number }) {
    this.arena = MappedFileRegionArena.create(path, {
      capacity: options.capacity,
      headerOffset: userHeaderBytes,
      // Runs once, in whichever process creates the file, before anyone else can open it.
      onCreate: (arena) => {
        // A new arena's pages read as zero: the table starts out empty.
        const indexOffset = arena.allocateOffset(options.slots * 16);
        const ours = words(arena, 0, 3);
        ours[0] = magic;
        ours[1] = BigInt(indexOffset);
        ours[2] = BigInt(options.slots);
      },
    });
    const [storedMagic, indexOffset, slots] = words(this.arena, 0, 3);
    if (storedMagic !== magic) throw new Error(`${path} is an arena, but not a blob store`);
    this.#slots = Number(slots);
    this.#index = words(this.arena, Number(indexOffset), this.#slots * 2);
  }

  /** Stores `bytes` (once) and returns their SHA-256, hex. `stored` is false when it was already there. */
  put(bytes: Uint8Array): { hash: string; stored: boolean } {
    const hash = sha256(bytes);
    const key = keyOf(hash);
    for (let probe = 0, slot = this.#home(key); probe < this.#slots; probe++, slot = (slot + 1) % this.#slots) {
      const seen = Atomics.compareExchange(this.#index, slot * 2, 0n, key);
      if (seen === 0n) {
        // The slot is ours: write the blob, then publish its offset.
        const offset = this.arena.allocateOffset(blobHeaderBytes + bytes.length);
        const blob = this.arena.bytes(offset, blobHeaderBytes + bytes.length);
        new DataView(blob.buffer, blob.byteOffset).setUint32(0, bytes.length, true);
        blob.set(hash, 8);
        blob.set(bytes, blobHeaderBytes);
        Atomics.store(this.#index, slot * 2 + 1, BigInt(offset));
        return { hash: hex(hash), stored: true };
      }
      if (seen === key && sameHash(this.#blobAt(this.#waitForOffset(slot)).hash, hash)) {
        return { hash: hex(hash), stored: false };
      }
      // Another key (or the same 8-byte key for other content): probe on.
    }
    throw new Error(`the index is full (${this.#slots} slots)`);
  }

  /** The bytes whose SHA-256 is `hashHex`, or undefined. A zero-copy view into the arena. */
  get(hashHex: string): Uint8Array | undefined {
    const hash = new Uint8Array(Buffer.from(hashHex, "hex"));
    const key = keyOf(hash);
    for (let probe = 0, slot = this.#home(key); probe < this.#slots; probe++, slot = (slot + 1) % this.#slots) {
      const seen = Atomics.load(this.#index, slot * 2);
      if (seen === 0n) return undefined;
      if (seen !== key) continue;
      const blob = this.#blobAt(this.#waitForOffset(slot));
      if (sameHash(blob.hash, hash)) return blob.bytes;
    }
    return undefined;
  }

  /** How many blobs are stored (slots in use). */
  get count(): number {
    let used = 0;
    for (let slot = 0; slot < this.#slots; slot++) if (Atomics.load(this.#index, slot * 2) !== 0n) used++;
    return used;
  }

  close(): void {
    this.arena.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #home(key: bigint): number {
    return Number(BigInt.asUintN(64, key) % BigInt(this.#slots));
  }

  /** A claimed slot's blob is being written by its claimer; its offset appears when done. */
  #waitForOffset(slot: number): number {
    for (let spins = 0; ; spins++) {
      const offset = Atomics.load(this.#index, slot * 2 + 1);
      if (offset !== 0n) return Number(offset);
      // Bounded in practice by one blob write; a claimer killed mid-write would
      // leave the slot pending forever, which a real store would repair on open.
      if (spins > 10_000_000) throw new Error(`slot ${slot} stayed pending: its writer died?`);
    }
  }

  #blobAt(offset: number): { hash: Uint8Array; bytes: Uint8Array } {
    const head = this.arena.bytes(offset, blobHeaderBytes);
    const length = new DataView(head.buffer, head.byteOffset).getUint32(0, true);
    return { hash: head.subarray(8, blobHeaderBytes), bytes: this.arena.bytes(offset + blobHeaderBytes, length) };
  }
}

/** 64-bit words over the arena at `offset` (a multiple of 8): a live view, not a copy. */
function words(arena: MappedFileRegionArena, offset: number, count: number): BigInt64Array {
  const bytes = arena.bytes(offset, count * 8);
  return new BigInt64Array(bytes.buffer, bytes.byteOffset, count);
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(new Bun.CryptoHasher("sha256").update(bytes).digest().buffer);
}

function keyOf(hash: Uint8Array): bigint {
  const key = new DataView(hash.buffer, hash.byteOffset).getBigInt64(0, true);
  return key === 0n ? 1n : key;
}

function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  for (let index = 0; index < hashBytes; index++) if (a[index] !== b[index]) return false;
  return true;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

// ---- the demonstration ------------------------------------------------------------

/** Blob number `n`: a few hundred bytes that differ for every n. */
function blobContent(n: number): Uint8Array {
  return new TextEncoder().encode(`blob ${n}: ${"the quick brown fox jumps over the lazy dog ".repeat(1 + (n % 7))}`);
}

/** One worker: puts blobs 0..distinct-1 in its own shuffled order, so processes race for the same ones. */
function runWorker(path: string, worker: number, distinct: number, puts: number, slots: number): void {
  using store = new BlobStore(path, { capacity: 256 << 20, slots });
  let stored = 0;
  for (let index = 0; index < puts; index++) {
    const n = (index * 7919 + worker * 104729) % distinct;
    if (store.put(blobContent(n)).stored) stored++;
  }
  console.log(JSON.stringify({ worker, puts, stored }));
}

async function runDemonstration(options: { processes: number; blobs: number; path: string | undefined }): Promise<void> {
  const { processes, blobs } = options;
  const distinct = Math.max(1, Math.floor(blobs / 2)); // every blob is put about 2 x processes times
  const slots = Math.max(64, distinct * 2);
  const temporary = options.path === undefined ? mkdtempSync(join(tmpdir(), "mfa-blobs-")) : undefined;
  const path = options.path ?? join(temporary!, "blobs.arena");

  const children = Array.from({ length: processes }, (_, worker) =>
    Bun.spawn([process.execPath, import.meta.path, "worker", path, String(worker), String(distinct), String(blobs), String(slots)], {
      stdout: "pipe",
      stderr: "inherit",
    }),
  );
  const reports = await Promise.all(
    children.map(async (child) => {
      const text = await new Response(child.stdout).text();
      if ((await child.exited) !== 0) throw new Error(`a worker failed: ${text}`);
      return JSON.parse(text) as { worker: number; puts: number; stored: number };
    }),
  );
  const puts = reports.reduce((sum, report) => sum + report.puts, 0);
  const stored = reports.reduce((sum, report) => sum + report.stored, 0);

  // Read every blob back by its hash, in a fresh open, and check it.
  using store = new BlobStore(path, { capacity: 256 << 20, slots });
  let verified = 0;
  for (let n = 0; n < distinct; n++) {
    const content = blobContent(n);
    const found = store.get(hex(sha256(content)));
    if (found !== undefined && Buffer.from(found).equals(Buffer.from(content))) verified++;
  }
  const missing = store.get("00".repeat(32)) === undefined;
  console.log(`${processes} processes made ${puts} puts of ${distinct} distinct blobs: ${stored} stored, ${puts - stored} deduplicated`);
  console.log(`index holds ${store.count} blobs; ${verified}/${distinct} read back and verified; unknown hash ${missing ? "not found" : "FOUND?"}`);
  const ok = stored === distinct && store.count === distinct && verified === distinct && missing;
  console.log(ok ? "blob store: ok" : "blob store: FAILED");
  if (!ok) process.exitCode = 1;
  store.close();
  if (temporary !== undefined) rmSync(temporary, { recursive: true, force: true });
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      processes: { type: "string", default: process.env.BLOB_PROCESSES ?? "4" },
      blobs: { type: "string", default: process.env.BLOB_PUTS ?? "2000" },
      path: { type: "string" },
    },
  });
  if (positionals[0] === "worker") {
    const [, path, worker, distinct, puts, slots] = positionals;
    runWorker(path!, Number(worker), Number(distinct), Number(puts), Number(slots));
  } else {
    await runDemonstration({ processes: Number(values.processes), blobs: Number(values.blobs), path: values.path });
  }
}
